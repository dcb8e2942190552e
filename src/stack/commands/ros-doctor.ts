// `pamstack ros doctor`: checks a robot machine before `ros2 launch pamstack …` — Node version, the
// sourced ROS 2 distro, rclnodejs installed and loadable for that distro, the message packages the
// nodes use, the policy folder — and prints the exact fix for each failure (exit 1 on any).
// rclnodejs is only ever loaded in a child process (src never imports it).
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { action, CliError, parentCommand, parseFlags, printJson } from '../command-kit.ts';

/** Distros whose message definitions pamstack carries (src/record, ros/interfaces). */
export const DOCTOR_DISTROS = ['humble', 'jazzy'] as const;
/** The message packages the nodes publish, subscribe or call. */
export const DOCTOR_MESSAGE_PACKAGES = ['sensor_msgs', 'visualization_msgs', 'diagnostic_msgs', 'tf2_msgs', 'moveit_msgs', 'control_msgs'] as const;
/** rclnodejs 2.2's `engines.node`, used when rclnodejs is not installed to read it from. */
const RCLNODEJS_NODE_MIN = '20.20.2';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** The command or step that fixes a failure. */
  fix?: string;
}

/** What the doctor looks at; injected so the checks can be tested without ROS. */
export interface DoctorEnv {
  nodeVersion: string;
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  readFile(path: string): string;
  /** Where rclnodejs's package.json is, or null. */
  rclnodejsDir: string | null;
  /** Loads rclnodejs in a child process; null when it loaded, else the error text. */
  loadRclnodejs(): string | null;
  policyDir: string;
}

const semver = (v: string): number[] => v.replace(/^v/, '').split('.').map((x) => Number.parseInt(x, 10) || 0);
function atLeast(v: string, min: string): boolean {
  const a = semver(v);
  const b = semver(min);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export function rosDoctor(e: DoctorEnv): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const distro = e.env.ROS_DISTRO;
  const source = `source /opt/ros/${distro && (DOCTOR_DISTROS as readonly string[]).includes(distro) ? distro : 'jazzy'}/setup.bash`;

  let nodeMin = RCLNODEJS_NODE_MIN;
  if (e.rclnodejsDir) {
    try {
      const eng = (JSON.parse(e.readFile(join(e.rclnodejsDir, 'package.json'))) as { engines?: { node?: string } }).engines?.node;
      const m = eng && /(\d+\.\d+\.\d+)/.exec(eng);
      if (m) nodeMin = m[1]!;
    } catch {
      /* unreadable package.json: the rclnodejs check below reports it */
    }
  }
  const nodeOk = atLeast(e.nodeVersion, nodeMin);
  out.push({
    name: 'node',
    ok: nodeOk,
    detail: `Node ${e.nodeVersion} (rclnodejs needs >= ${nodeMin}; rosdep's nodejs is 12 on Humble/jammy, 18 on Jazzy/noble)`,
    ...(nodeOk ? {} : { fix: `install Node ${nodeMin.split('.')[0]} LTS beside ROS: curl -fsSL https://deb.nodesource.com/setup_20.x | sudo -E bash - && sudo apt-get install -y nodejs (or nvm install 20 && nvm use 20)` }),
  });

  const distroOk = distro !== undefined && (DOCTOR_DISTROS as readonly string[]).includes(distro);
  out.push({
    name: 'ros_distro',
    ok: distroOk,
    detail: distro ? `ROS_DISTRO=${distro}${distroOk ? '' : ` (pamstack supports ${DOCTOR_DISTROS.join(', ')})`}` : 'ROS_DISTRO is not set: no ROS 2 environment is sourced',
    ...(distroOk ? {} : { fix: `${source} (Humble or Jazzy), then run the doctor again in that shell` }),
  });

  const reinstall = `${source} && rm -rf node_modules && npm ci (with ROS sourced; without it npm silently skips the optional rclnodejs)`;
  if (!e.rclnodejsDir) out.push({ name: 'rclnodejs', ok: false, detail: 'rclnodejs is not installed', fix: reinstall });
  else {
    let version = '?';
    try {
      version = (JSON.parse(e.readFile(join(e.rclnodejsDir, 'package.json'))) as { version?: string }).version ?? '?';
    } catch {
      /* reported as a load failure below */
    }
    const err = distroOk ? e.loadRclnodejs() : 'not tried: no supported ROS 2 distro is sourced';
    out.push({
      name: 'rclnodejs',
      ok: err === null,
      detail: err === null ? `rclnodejs ${version} loads and initialises against ${distro}` : `rclnodejs ${version} does not load for ${distro ?? 'no distro'}: ${err.split('\n')[0]}`,
      ...(err === null ? {} : { fix: `${reinstall}; it must be built (or its prebuilt chosen) for the distro sourced now` }),
    });
  }

  const prefixes = (e.env.AMENT_PREFIX_PATH ?? '').split(':').filter(Boolean);
  for (const pkg of DOCTOR_MESSAGE_PACKAGES) {
    const at = prefixes.find((p) => e.exists(join(p, 'share', pkg, 'package.xml')));
    out.push({
      name: `msgs:${pkg}`,
      ok: at !== undefined,
      detail: at ? `${pkg} in ${at}` : `${pkg} not found in AMENT_PREFIX_PATH (${prefixes.length} prefixes)`,
      ...(at ? {} : { fix: `sudo apt-get install ros-${distroOk ? distro : '<distro>'}-${pkg.replaceAll('_', '-')} && npx generate-ros-messages` }),
    });
  }

  const spec = join(e.policyDir, 'default.json');
  let policyDetail = `${spec} is missing`;
  let policyOk = false;
  if (e.exists(spec))
    try {
      JSON.parse(e.readFile(spec));
      policyOk = true;
      policyDetail = `${spec} (decider spec)`;
    } catch (err) {
      policyDetail = `${spec} is not JSON: ${(err as Error).message}`;
    }
  out.push({
    name: 'policy',
    ok: policyOk,
    detail: policyDetail,
    ...(policyOk ? {} : { fix: `pass policy:=<a policies/<task> folder with default.json> to ros2 launch, or rebuild it: npx pamstack policies rebuild` }),
  });
  return out;
}

/** The real machine: process, filesystem, and a child process that loads rclnodejs. */
export function systemDoctorEnv(policyDir: string): DoctorEnv {
  let rclnodejsDir: string | null = null;
  try {
    rclnodejsDir = dirname(createRequire(import.meta.url).resolve('rclnodejs/package.json'));
  } catch {
    rclnodejsDir = null;
  }
  return {
    nodeVersion: process.version,
    env: process.env,
    exists: existsSync,
    readFile: (p) => readFileSync(p, 'utf8'),
    rclnodejsDir,
    policyDir: resolve(policyDir),
    loadRclnodejs: () => {
      // init + shutdown proves the binding matches the sourced rcl; a child keeps a crash out of here.
      const script = "try { const m = await import('rclnodejs'); const r = m.default ?? m; await r.init(); r.shutdown(); process.exit(0); } catch (e) { console.error(String(e?.message ?? e)); process.exit(1); }";
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, cwd: dirname(dirname(rclnodejsDir!)) });
      if (res.status === 0) return null;
      return (res.stderr || res.stdout || `exit ${res.status ?? res.signal}`).trim().split('\n').slice(-3).join(' | ');
    },
  };
}

const FlagsSchema = z.strictObject({ policy: z.string().min(1).default('policies/rope-circle'), json: z.boolean().optional() });

export function register(program: Command): void {
  parentCommand(program, 'ros', 'ROS 2 helpers')
    .command('doctor')
    .description('check Node, the sourced ROS 2 distro, rclnodejs, message packages and the policy folder; prints the fix for each failure')
    .option('--policy <dir>', 'policy folder the ROS policy node will load', 'policies/rope-circle')
    .option('--json', 'print one JSON object')
    .action(
      action((opts: unknown) => {
        const f = parseFlags(FlagsSchema, opts);
        const checks = rosDoctor(systemDoctorEnv(f.policy));
        const ok = checks.every((c) => c.ok);
        if (f.json) printJson({ ok, checks });
        else
          for (const c of checks) {
            console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(24)} ${c.detail}`);
            if (c.fix) console.log(`     fix: ${c.fix}`);
          }
        if (!ok) throw new CliError(`${checks.filter((c) => !c.ok).length} check(s) failed`, 1);
      }),
    );
}
