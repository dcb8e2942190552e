// Typechecks ros/rclnodejs-api.ts (what the adapter relies on) against rclnodejs's own .d.ts.
// rclnodejs cannot install without ROS 2, so its types come from node_modules/rclnodejs when present
// (a robot) or from `npm pack rclnodejs@<version in package.json>` into a cached temp dir; with neither
// (offline), the test is skipped saying so.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const tsc = join(repo, 'node_modules/.bin/tsc');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> }).optionalDependencies.rclnodejs!.replace(/^[^\d]*/, '');

function rclnodejsPackage(): string | null {
  const local = join(repo, 'node_modules/rclnodejs');
  if (existsSync(join(local, 'types/index.d.ts'))) return local;
  const cache = join(tmpdir(), `pamstack-rclnodejs-${version}`);
  if (existsSync(join(cache, 'package/types/index.d.ts'))) return join(cache, 'package');
  mkdirSync(cache, { recursive: true });
  const r = spawnSync('npm', ['pack', `rclnodejs@${version}`, '--silent'], { cwd: cache, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return null;
  execFileSync('tar', ['xzf', r.stdout.trim().split('\n').pop()!], { cwd: cache });
  return existsSync(join(cache, 'package/types/index.d.ts')) ? join(cache, 'package') : null;
}

const pkg = rclnodejsPackage();

/**
 * One tsc run over a scratch project with rclnodejs's .d.ts (plus the generated-interfaces stand-in):
 * good.ts checks the real API file, bad.ts a copy with a deliberate mismatch (so the check can fail).
 */
function check(api: string, wrongApi: string): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pamstack-rcltypes-'));
  try {
    const mod = join(dir, 'node_modules/rclnodejs');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    cpSync(pkg!, mod, { recursive: true, filter: (p) => !p.includes('/prebuilds') && !p.includes('/src/') });
    if (!existsSync(join(mod, 'types/interfaces.d.ts'))) {
      const stub = readFileSync(join(repo, 'test/ros/fixtures/rclnodejs-interfaces.d.ts.txt'), 'utf8').replaceAll('__RECORD__', join(repo, 'src/record/ros-messages.ts'));
      writeFileSync(join(mod, 'types/interfaces.d.ts'), stub);
    }
    writeFileSync(join(dir, 'api.ts'), api);
    writeFileSync(join(dir, 'api-wrong.ts'), wrongApi);
    const body = (f: string) => `import * as rcl from 'rclnodejs';\nimport type { RclNodejsModule } from './${f}';\nconst m: RclNodejsModule = rcl;\nvoid m;\n`;
    writeFileSync(join(dir, 'good.ts'), body('api.ts'));
    writeFileSync(join(dir, 'bad.ts'), body('api-wrong.ts'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true, // rclnodejs's .d.ts import rxjs, not installed here
          types: ['node'],
          typeRoots: [join(repo, 'node_modules/@types')],
        },
        files: ['good.ts', 'bad.ts'],
      }),
    );
    const r = spawnSync(tsc, ['-p', dir], { encoding: 'utf8' });
    return { ok: r.status === 0, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('rclnodejs adapter types', () => {
  if (!pkg) {
    it.skip(`rclnodejs@${version} types unavailable (not installed and npm pack failed: offline?)`, () => {});
    return;
  }
  const api = readFileSync(join(repo, 'ros/rclnodejs-api.ts'), 'utf8').replace("'../src/record/index.ts'", `'${join(repo, 'src/record/index.ts')}'`);
  const wrong = api.replace('createTimer(period: bigint,', 'createTimer(period: string,');

  it(`rclnodejs@${version}'s own .d.ts satisfy ros/rclnodejs-api.ts, and a wrong declaration is caught`, () => {
    expect(wrong).not.toBe(api);
    const r = check(api, wrong);
    const errorFiles = [...r.out.matchAll(/^(\S+?\.ts)\(\d+,\d+\): error/gm)].map((m) => m[1]);
    expect(errorFiles.filter((f) => !f!.endsWith('bad.ts'))).toEqual([]); // the real API file typechecks
    expect(errorFiles.some((f) => f!.endsWith('bad.ts'))).toBe(true); // the wrong one does not
    expect(r.out).toMatch(/createTimer/);
  });
});
