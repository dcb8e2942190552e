// The data flywheel as a sequence of pamstack commands (collect → train → roll out + label → align →
// evaluate), run as child processes so the commands recorded in policies/<task>/README.md are exactly
// what ran. `pamstack policies rebuild` and `npm run policies:rebuild` use it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One command of the flywheel and what it printed as its --json summary. */
export interface FlywheelStep {
  name: string;
  argv: string[];
  /** Wall time, s. */
  wall: number;
  summary: Record<string, unknown> | null;
}

const BIN = fileURLToPath(new URL('../../../bin/pamstack.js', import.meta.url));

/** `pamstack …args` as printed in READMEs (paths relative to the repo root). */
export function commandLine(args: readonly string[]): string {
  return ['pamstack', ...args.map((a) => (/^[\w./:=,@-]+$/.test(a) ? a : JSON.stringify(a)))].join(' ');
}

/**
 * Runs `pamstack ...args --json` in `cwd`, streaming its stderr (progress) through `log`, and returns
 * the JSON object printed last. Fails with the command line and exit code when it fails.
 */
export async function runPamstack(
  name: string,
  args: string[],
  opts: { cwd: string; log: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<FlywheelStep> {
  const argv = [...args, '--json'];
  opts.log(`$ ${commandLine(argv)}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  let errTail = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    errTail = (errTail + d).slice(-4000);
    for (const l of d.split('\n')) if (l.trim()) opts.log(`  ${l}`);
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  const wall = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${name} failed (exit ${code}): ${commandLine(argv)}\n${errTail}`);
  const last = out.trim().split('\n').pop() ?? '';
  let summary: Record<string, unknown> | null = null;
  try {
    summary = JSON.parse(last) as Record<string, unknown>;
  } catch {
    summary = null;
  }
  return { name, argv, wall, summary };
}
