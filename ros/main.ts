// Entry point of pamstack's ROS 2 nodes: `pamstack-ros <node> [--in-process] [--params-file F]
// [--ros-args …]`. With ROS 2 sourced it loads rclnodejs (dynamic import, the only place that does);
// with --in-process it runs on the in-process port instead (no ROS; `sim_stack` runs the whole sim
// graph in one process). SIGINT and SIGTERM stop every node (the executor commands a hold first) and
// exit 0 within 5 s, before ros2 launch escalates.
import { readFileSync } from 'node:fs';
import type { TaskName } from '../src/core/task.ts';
import type { World } from '../src/core/world.ts';
import { ROS_DISTROS, type RosDistro } from '../src/record/index.ts';
import { InProcessGraph, InProcessPort, SystemClock, type ParamSource } from './in-process.ts';
import { parseParamRule, parseRclParamsYaml } from './param-files.ts';
import type { PamstackNode } from './nodes/common.ts';
import { startExecutor } from './nodes/executor.ts';
import { startPerception } from './nodes/perception.ts';
import { startPolicy } from './nodes/policy.ts';
import { startPreferenceBridge } from './nodes/preference-bridge.ts';
import { startSafety } from './nodes/safety.ts';
import { startSimBridge } from './nodes/sim-bridge.ts';
import type { RosPort } from './port.ts';
import type { RclNodejsModule } from './rclnodejs-api.ts';
import { loadPolicyDecider } from './stages.ts';

export const NODE_KINDS = ['perception', 'policy', 'executor', 'safety', 'sim_bridge', 'preference_bridge', 'sim_stack'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** Exit within this after a signal (ros2 launch sends SIGTERM 5 s after SIGINT, SIGKILL 5 s later). */
export const SHUTDOWN_BUDGET_MS = 4000;

const USAGE = `usage: pamstack-ros <${NODE_KINDS.join('|')}> [--in-process] [--params-file FILE]... [--ros-args ...]`;

export interface EntryArgs {
  kind: NodeKind;
  inProcess: boolean;
  paramsFiles: string[];
  /** `-p [node:]name:=value` rules, in the order given (after the files, as rcl applies them). */
  paramRules: string[];
  /** Everything to hand rclnodejs.init (ROS arguments included). */
  rosArgv: string[];
}

/** Parses the command line; throws with the usage line on anything unknown. */
export function parseEntryArgs(argv: string[]): EntryArgs {
  const [kind, ...rest] = argv;
  if (!kind || !(NODE_KINDS as readonly string[]).includes(kind)) throw new Error(`node: expected one of ${NODE_KINDS.join(', ')}, received ${JSON.stringify(kind)}\n${USAGE}`);
  const out: EntryArgs = { kind: kind as NodeKind, inProcess: false, paramsFiles: [], paramRules: [], rosArgv: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--ros-args') {
      // ROS arguments run to the end or to `--`; keep them for rclnodejs and read params files from them.
      const end = rest.indexOf('--', i);
      const ros = rest.slice(i, end < 0 ? undefined : end);
      out.rosArgv.push(...ros);
      ros.forEach((x, j) => {
        if (x === '--params-file' && ros[j + 1]) out.paramsFiles.push(ros[j + 1]!);
        if ((x === '-p' || x === '--param') && ros[j + 1]) out.paramRules.push(ros[j + 1]!);
      });
      i = end < 0 ? rest.length : end;
    } else if (a === '--in-process') out.inProcess = true;
    else if (a === '--params-file' && rest[i + 1]) out.paramsFiles.push(rest[++i]!);
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  if (kind === 'sim_stack' && !out.inProcess) throw new Error('sim_stack runs only with --in-process (use sim.launch.xml under ROS 2)');
  return out;
}

/** The parameter sources of a command line: params files in order, then `-p` rules (later wins). */
export function loadParamSources(files: readonly string[], rules: readonly string[] = []): ParamSource[] {
  return [
    ...files.map((f) => ({ name: f, params: parseRclParamsYaml(readFileSync(f, 'utf8'), f) })),
    ...rules.map((r) => ({ name: `-p ${r}`, params: parseParamRule(r) })),
  ];
}

/** Deferred module loads, so a node pulls in only what it runs (and tests can inject their own). */
export interface EntryDeps {
  createWorld: (task: TaskName) => Promise<World>;
  openStore: ((path: string) => import('../src/store/store.ts').Store) | null;
}

export async function defaultDeps(): Promise<EntryDeps> {
  return {
    createWorld: async (task) => (await import('../sim/index.ts')).createWorld(task),
    openStore: null,
  };
}

/** Starts the node(s) of `kind` on `port`. */
export async function startNodes(kind: NodeKind, port: RosPort, deps: EntryDeps): Promise<PamstackNode[]> {
  const storeFactory = async () => {
    if (deps.openStore) return deps.openStore;
    const { Store } = await import('../src/store/store.ts'); // better-sqlite3 only where a store is used
    return (path: string) => new Store(path);
  };
  const policyDecider = (world?: World) => (p: { policy: string; num_candidates: number; lcb: number; select: string }) => loadPolicyDecider(p, world);
  switch (kind) {
    case 'perception':
      return [startPerception(port)];
    case 'policy':
      return [await startPolicy(port, policyDecider())];
    case 'executor':
      return [startExecutor(port)];
    case 'safety':
      return [startSafety(port)];
    case 'sim_bridge':
      return [await startSimBridge(port, deps.createWorld)];
    case 'preference_bridge':
      return [await startPreferenceBridge(port, await storeFactory())];
    case 'sim_stack': {
      // Consumers first (the recorder before anything it records), then the simulated robot, then the
      // policy (which may use the sim's expert); shutdown runs in reverse.
      const pref = await startPreferenceBridge(port, await storeFactory());
      const rest = [startSafety(port), startExecutor(port), startPerception(port)];
      const sim = await startSimBridge(port, deps.createWorld);
      return [pref, ...rest, sim, await startPolicy(port, policyDecider(sim.world))];
    }
  }
}

/** Stops nodes in reverse start order, then the port; resolves false when the budget ran out. */
export async function shutdownAll(nodes: PamstackNode[], port: RosPort, budgetMs = SHUTDOWN_BUDGET_MS): Promise<boolean> {
  const work = (async () => {
    for (const n of [...nodes].reverse()) {
      try {
        const t0 = Date.now();
        await n.shutdown();
        if (process.env.PAMSTACK_DEBUG) process.stderr.write(`[${n.node.name}] stopped in ${Date.now() - t0} ms\n`);
      } catch (e) {
        process.stderr.write(`[${n.node.name}] shutdown: ${(e as Error).message}\n`);
      }
    }
    await port.shutdown();
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), budgetMs)));
  const ok = await Promise.race([work, late]);
  clearTimeout(timer);
  return ok;
}

/** Runs the entry point; resolves with the exit code once a signal has stopped everything. */
export async function main(argv: string[], deps?: EntryDeps): Promise<number> {
  let args: EntryArgs;
  try {
    args = parseEntryArgs(argv);
  } catch (e) {
    process.stderr.write(`pamstack-ros: ${(e as Error).message}\n`);
    return 2;
  }
  // Signals are handled from the first moment: one arriving during start-up stops the nodes as soon
  // as they exist. The interval keeps the event loop alive for nodes without timers (rclnodejs's spin
  // does that on a robot).
  let signalled: NodeJS.Signals | null = null;
  let onStop: (() => void) | null = null;
  let exitNow: ((code: number) => void) | null = null;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      process.stderr.write(`pamstack-ros: second ${sig}; exiting now\n`);
      exitNow?.(130);
      return;
    }
    signalled = sig;
    onStop?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const done = (code: number): number => {
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return code;
  };

  let port: RosPort;
  try {
    if (args.inProcess) {
      const env = process.env.ROS_DISTRO;
      const distro: RosDistro = env && (ROS_DISTROS as readonly string[]).includes(env) ? (env as RosDistro) : 'jazzy';
      port = new InProcessPort(new InProcessGraph({ distro, clock: new SystemClock() }), loadParamSources(args.paramsFiles, args.paramRules), (l) =>
        process.stderr.write(`${l}\n`),
      );
    } else {
      const spec = 'rclnodejs'; // a variable: bundlers and tsc never resolve it; CI never loads it
      const mod = (await import(spec)) as RclNodejsModule & { default?: RclNodejsModule };
      const { RclnodejsPort } = await import('./rclnodejs-port.ts');
      port = await RclnodejsPort.init(mod.default ?? mod, ['node', 'pamstack-ros', ...args.rosArgv], {
        sources: loadParamSources(args.paramsFiles, args.paramRules),
      });
    }
  } catch (e) {
    process.stderr.write(`pamstack-ros: cannot start the ROS 2 client: ${(e as Error).message}\n`);
    return done(1);
  }
  let nodes: PamstackNode[];
  try {
    nodes = await startNodes(args.kind, port, deps ?? (await defaultDeps()));
  } catch (e) {
    process.stderr.write(`pamstack-ros: ${args.kind}: ${(e as Error).message}\n`);
    await port.shutdown();
    return done(2);
  }
  process.stderr.write(`pamstack-ros: ${args.kind} running on ${port.kind} (${port.distro}); SIGINT or SIGTERM stops it\n`);
  const code = await new Promise<number>((resolveExit) => {
    exitNow = resolveExit;
    onStop = () => {
      process.stderr.write(`pamstack-ros: ${signalled}: stopping ${nodes.length} node(s)\n`);
      void shutdownAll(nodes, port).then((ok) => {
        if (!ok) process.stderr.write(`pamstack-ros: shutdown took over ${SHUTDOWN_BUDGET_MS} ms; exiting anyway\n`);
        resolveExit(ok ? 0 : 1);
      });
    };
    if (signalled) onStop();
  });
  return done(code);
}
