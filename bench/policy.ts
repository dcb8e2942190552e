// `npm run bench -- policy [WORKLOAD…] [--repeat K] [--rounds R] [--backend B] [--threads N] [--decide-backend onnx|tfjs]`:
// the anchor's benchmark network (decide, decide-fast, train) here and in PyTorch, side by side, in one invocation.
// decide runs through the product's decision parts: on ONNX Runtime (default, where it loads) the
// OnnxPolicyProposer's sampler (encoder + whole DDIM loop, one graph) and OnnxImplicitReward (both
// denoisers, one graph), built by their fromModel(s) factories from the tfjs models; tfjs trains.
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.ts';
import { AdamW } from '../src/nn/adamw.ts';
import { initBackend } from '../src/nn/backend.ts';
import { epsError } from '../src/policy/eps-error.ts';
import { PrimitiveDiffusionModel } from '../src/policy/model.ts';
import { sampleCandidates } from '../src/policy/sampler.ts';
import { trainStep } from '../src/policy/train-step.ts';
import { loadOrt } from '../src/nn/onnx-runtime.ts';
import { OnnxPolicyProposer } from '../src/policy/onnx-proposer.ts';
import { PolicyProcessor } from '../src/policy/processor.ts';
import { OnnxImplicitReward } from '../src/preference/onnx-implicit-reward.ts';
import { loadDecider, type StageTimings } from '../src/stack/decider.ts';
import { deciderSpecFor } from '../src/stack/decider-spec.ts';
import { DEBIAN_PYTHON, loadNow, machineDescription, median, printTable, writeBenchResult } from './_common.ts';

const WORKLOADS = ['decide', 'decide-fast', 'train'] as const;
type Workload = (typeof WORKLOADS)[number];

function parseArgs(argv: string[]) {
  const out = { workloads: [] as Workload[], repeat: 5, rounds: 3, backend: undefined as string | undefined, threads: os.availableParallelism(), decideBackend: 'onnx' as 'onnx' | 'tfjs', maxRounds: 8, defaultDecision: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--repeat') out.repeat = Math.max(1, Number(next()));
    else if (a === '--rounds') out.rounds = Math.max(1, Number(next()));
    else if (a === '--max-rounds') out.maxRounds = Math.max(1, Number(next()));
    else if (a === 'default') out.defaultDecision = true;
    else if (a === '--backend') out.backend = next();
    else if (a === '--threads') out.threads = Math.max(1, Number(next()));
    else if (a === '--decide-backend') {
      const v = next();
      if (v !== 'onnx' && v !== 'tfjs') throw new Error(`--decide-backend: expected onnx or tfjs, received ${v}`);
      out.decideBackend = v;
    }
    else if ((WORKLOADS as readonly string[]).includes(a)) out.workloads.push(a as Workload);
    else throw new Error(`unknown argument ${a}; workloads: ${WORKLOADS.join(', ')}; flags: --repeat K --rounds R --backend B --threads N --decide-backend onnx|tfjs --max-rounds R`);
  }
  if (!out.workloads.length && !out.defaultDecision) out.workloads = [...WORKLOADS];
  return out;
}

/** Our side of one workload: returns a function running it once (result read back, as torch's int/float). */
function makeOurs(workload: Workload): { run: () => number; dispose: () => void } {
  const rng = new Rng(0);
  const enc = PrimitiveDiffusionModel.create({}, 1);
  const ref = PrimitiveDiffusionModel.create({}, 2);
  if (workload === 'train') {
    const B = 32;
    const N = 1024;
    const draws = 8;
    const clouds = tf.tensor3d(rng.fillNormal(new Float32Array(B * N * 3)) as Float32Array, [B, N, 3]);
    const actions = new Float32Array(B * 6).map(() => rng.uniform(-1, 1));
    const x0data = new Float32Array(B * draws * 6);
    for (let i = 0; i < B * draws; i++) x0data.set(actions.subarray(Math.floor(i / draws) * 6, Math.floor(i / draws) * 6 + 6), i * 6);
    const x0 = tf.tensor2d(x0data, [B * draws, 6]);
    const vars = enc.params.variables();
    const opt = new AdamW(vars, { lr: 1e-4, betas: [0.9, 0.95], weightDecay: 0.01 });
    const epsBuf = new Float32Array(B * draws * 6);
    return {
      run: () => {
        const t = Int32Array.from({ length: B * draws }, () => rng.int(100));
        rng.fillNormal(epsBuf);
        const loss = trainStep(vars, opt, () =>
          tf.tidy(() => tf.mean(epsError(enc, enc.encode(clouds), x0, t, tf.tensor2d(epsBuf, [B * draws, 6])))),
        );
        const v = loss.dataSync()[0]!;
        loss.dispose();
        return v;
      },
      dispose: () => {
        tf.dispose([clouds, x0]);
        opt.dispose();
        enc.dispose();
        ref.dispose();
      },
    };
  }
  const [steps, draws] = workload === 'decide' ? [100, 100] : [10, 16];
  const n = 8;
  const cloud = tf.tensor3d(rng.fillNormal(new Float32Array(3000 * 3)) as Float32Array, [1, 3000, 3]);
  let seed = 0;
  return {
    run: () => {
      const best = tf.tidy(() => {
        const c = enc.encode(cloud);
        const cands = sampleCandidates(enc, c, { n, steps, eta: 0, seed: seed++ });
        // implicit reward: every candidate × `draws` noise draws, t in the lowest 10 steps, one batch per denoiser
        const m = n * draws;
        const x0 = tf.reshape(tf.tile(tf.reshape(cands, [n, 1, 6]), [1, draws, 1]), [m, 6]) as tf.Tensor2D;
        const t = Int32Array.from({ length: m }, () => rng.int(10));
        const eps = tf.tensor2d(rng.fillNormal(new Float32Array(m * 6)) as Float32Array, [m, 6]);
        const ePol = epsError(enc, c, x0, t, eps);
        const eRef = epsError(ref, c, x0, t, eps);
        const r = tf.neg(tf.mean(tf.reshape(tf.sub(ePol, eRef), [n, draws]), 1));
        return tf.argMax(r);
      });
      const v = best.dataSync()[0]!;
      best.dispose();
      return v;
    },
    dispose: () => {
      cloud.dispose();
      enc.dispose();
      ref.dispose();
    },
  };
}

/**
 * decide on ONNX Runtime through the product's parts: the proposer's sampler (encoder + DDIM loop) and
 * the implicit reward (policy and reference), each one graph run, the argmax in JS.
 */
async function makeOursOnnx(workload: Workload, threads: number): Promise<{ run: () => Promise<number>; dispose: () => void }> {
  const rng = new Rng(0);
  const enc = PrimitiveDiffusionModel.create({}, 1);
  const ref = PrimitiveDiffusionModel.create({}, 2);
  const [steps, draws] = workload === 'decide' ? [100, 100] : [10, 16];
  const n = 8;
  const proposer = await OnnxPolicyProposer.fromModel(enc, new PolicyProcessor({}, enc.config.points), { steps, eta: 0, threads });
  const implicit = await OnnxImplicitReward.fromModels(enc, ref, { threads });
  enc.dispose();
  ref.dispose();
  const cloud = rng.fillNormal(new Float32Array(3000 * 3)) as Float32Array;
  let seed = 0;
  return {
    run: async () => {
      const s = seed++;
      const cands = await proposer.sampleObject(cloud, n, s);
      const scores = await implicit.score(cloud, cands, { draws, seed: s });
      let best = 0;
      scores.forEach((x, i) => {
        if (x.score > scores[best]!.score) best = i;
      });
      return best;
    },
    dispose: () => {
      void proposer.dispose();
      void implicit.dispose();
    },
  };
}

async function timeOurs(workload: Workload, repeat: number, onnx: { threads: number } | null): Promise<{ ms: number[]; peakRssMiB: number; peakTfMiB: number }> {
  const w = onnx && workload !== 'train' ? await makeOursOnnx(workload, onnx.threads) : makeOurs(workload);
  let peakRss = process.memoryUsage().rss;
  let peakTf = 0;
  await w.run(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await w.run();
    ms.push(performance.now() - t0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakTf = Math.max(peakTf, tf.memory().numBytes);
  }
  w.dispose();
  return { ms, peakRssMiB: peakRss / 2 ** 20, peakTfMiB: peakTf / 2 ** 20 };
}

interface TorchRun {
  ms: number;
  ms_all: number[];
  threads: number;
  torch: string;
  maxrss_mib: number;
}

function runTorch(script: string, workload: Workload, repeat: number, threads: number): TorchRun {
  // runpy keeps the script untouched and lets us add its peak RSS (ru_maxrss, KiB on Linux).
  const code = [
    'import runpy, sys, resource, json',
    `sys.argv = [${JSON.stringify(script)}, ${JSON.stringify(workload)}, '--repeat', '${repeat}', '--threads', '${threads}']`,
    `runpy.run_path(${JSON.stringify(script)}, run_name='__main__')`,
    'print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))',
  ].join('\n');
  const r = spawnSync(DEBIAN_PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch anchor failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const lines = r.stdout.trim().split('\n');
  const res = JSON.parse(lines[lines.length - 2]!) as Omit<TorchRun, 'maxrss_mib'>;
  const rss = JSON.parse(lines[lines.length - 1]!) as { maxrss_kib: number };
  return { ...res, maxrss_mib: rss.maxrss_kib / 1024 };
}

/**
 * The committed rope-circle default's decision through the product's `decide` (the stage `pamstack eval`,
 * the demo and the ROS policy node call): policies/rope-circle as its spec says (sl policy, N = 128, the
 * PointNet robust reward, LCB 1), on a sim observation, per stage, with the ONNX Runtime backend (the
 * default) against the same decider on tfjs. Written to bench/results/policy-default.json with tfjs as the
 * anchor (no PyTorch twin of this network exists).
 */
async function benchDefaultDecision(repeat: number): Promise<void> {
  const dir = fileURLToPath(new URL('../policies/rope-circle/', import.meta.url));
  const { createWorld } = await import('../sim/index.ts');
  const world = await createWorld('rope-circle');
  world.reset(10000);
  const cloud = world.observe({ seed: 10000 });
  const deciders = {
    onnx: await loadDecider(deciderSpecFor(dir, { backend: 'onnx' })),
    tfjs: await loadDecider(deciderSpecFor(dir, { backend: 'tfjs' })),
  };
  const spec = deciders.onnx.spec;
  const ctx = (seed: number) => ({ workspace: world.workspace, kind: world.primitive, seed, world });
  const runs: Record<'onnx' | 'tfjs', StageTimings[]> = { onnx: [], tfjs: [] };
  let peakRss = process.memoryUsage().rss;
  for (const b of ['onnx', 'tfjs'] as const) await deciders[b].decide(cloud, ctx(0)); // warm-up (sessions, kernels)
  for (let r = 0; r < Math.max(3, repeat); r++)
    for (const b of ['onnx', 'tfjs'] as const) {
      runs[b].push((await deciders[b].decide(cloud, ctx(r + 1))).timings);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
  const med = (xs: StageTimings[]): StageTimings => ({
    propose: median(xs.map((x) => x.propose)), score: median(xs.map((x) => x.score)), select: median(xs.map((x) => x.select)), total: median(xs.map((x) => x.total)),
  });
  const o = med(runs.onnx), t = med(runs.tfjs);
  const f = (x: number) => +x.toFixed(2);
  printTable((['onnx', 'tfjs'] as const).map((b) => {
    const m = b === 'onnx' ? o : t;
    return { backend: b, propose_ms: f(m.propose), score_ms: f(m.score), select_ms: f(m.select), total_ms: f(m.total), load: loadNow() };
  }));
  writeBenchResult('policy-default', {
    name: 'policy',
    workload: `rope-circle default decision through decide (${spec.policy.split('/').pop()} policy, N = ${spec.candidates}, DDIM ${spec.steps} steps eta ${spec.eta}, ${spec.reward} reward ${spec.rewardDir?.split('/').pop()}, LCB ${spec.lcb}) on a sim observation, per stage`,
    ours_ms: f(o.total),
    anchor: 'the same decider on tfjs (wasm) in the same process',
    anchor_ms: f(t.total),
    ratio: +(o.total / t.total).toFixed(3),
    backend: 'onnxruntime-node (sampling, reward head); preprocessing, features and selection in JS',
    machine: `${machineDescription()}, ${loadNow()}`,
    stages_onnx_ms: { propose: f(o.propose), score: f(o.score), select: f(o.select) },
    stages_tfjs_ms: { propose: f(t.propose), score: f(t.score), select: f(t.select) },
    peak_rss_mib: f(peakRss / 2 ** 20),
  });
  deciders.onnx.dispose();
  deciders.tfjs.dispose();
  world.dispose();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backend = await initBackend({ backend: args.backend });
  const onnx = args.decideBackend === 'onnx' && (await loadOrt()) ? { threads: args.threads } : null;
  if (args.decideBackend === 'onnx' && !onnx) console.error('onnxruntime-node does not load here: decide on tfjs');
  const ortVersion = onnx ? ((await loadOrt())!.env.versions.node ?? '') : '';
  const script = fileURLToPath(new URL('../../shared/anchors/torch_policy_bench.py', import.meta.url));
  const haveTorch = existsSync(DEBIAN_PYTHON) && existsSync(script);
  if (!haveTorch) console.error(`anchor not runnable (${DEBIAN_PYTHON} or ${script} missing): ours only`);
  const rows: Record<string, string | number>[] = [];
  for (const workload of args.workloads) {
    const ours: number[] = [];
    const theirs: number[] = [];
    let peakRss = 0;
    let peakTf = 0;
    let torchRun: TorchRun | null = null;
    let torchRss = 0;
    // alternate the two sides so a burst of load from elsewhere hits both
    // at least `rounds` rounds, then more until the anchor's per-round medians spread < 10 % (or maxRounds)
    const anchorRounds: number[] = [];
    let spread = Infinity;
    for (let r = 0; r < args.maxRounds; r++) {
      if (haveTorch) {
        torchRun = runTorch(script, workload, args.repeat, args.threads);
        theirs.push(...torchRun.ms_all);
        anchorRounds.push(median(torchRun.ms_all));
        torchRss = Math.max(torchRss, torchRun.maxrss_mib);
      }
      const o = await timeOurs(workload, args.repeat, onnx);
      ours.push(...o.ms);
      peakRss = Math.max(peakRss, o.peakRssMiB);
      peakTf = Math.max(peakTf, o.peakTfMiB);
      const om = median(o.ms);
      if (anchorRounds.length) spread = (Math.max(...anchorRounds) - Math.min(...anchorRounds)) / median(anchorRounds);
      const am = anchorRounds.at(-1) ?? NaN;
      console.error(`${workload} round ${r + 1}: ours ${om.toFixed(1)} ms, torch ${am.toFixed(1)} ms, ratio ${(om / am).toFixed(3)}, ${loadNow()}, torch spread ${(100 * spread).toFixed(1)} %`);
      if (r + 1 >= args.rounds && (!haveTorch || spread < 0.1)) break;
    }
    const oursMs = median(ours);
    const anchorMs = theirs.length ? median(theirs) : NaN;
    const ratio = oursMs / anchorMs;
    const result = {
      name: 'policy',
      workload,
      ours_ms: +oursMs.toFixed(2),
      anchor: `PyTorch ${torchRun?.torch ?? '(absent)'} CPU, ../shared/anchors/torch_policy_bench.py ${workload}`,
      anchor_ms: +anchorMs.toFixed(2),
      ratio: +ratio.toFixed(3),
      backend: onnx && workload !== 'train' ? `onnxruntime-node ${ortVersion} (CPU EP)` : backend.choice,
      machine: machineDescription(),
      ours_threads: onnx && workload !== 'train' ? onnx.threads : backend.threads,
      anchor_threads: torchRun?.threads ?? null,
      ours_ms_all: ours.map((x) => +x.toFixed(2)),
      anchor_ms_all: theirs.map((x) => +x.toFixed(2)),
      ours_peak_rss_mib: +peakRss.toFixed(1),
      ours_peak_tensor_mib: +peakTf.toFixed(1),
      anchor_peak_rss_mib: +torchRss.toFixed(1),
      load_average: os.loadavg().map((x) => +x.toFixed(2)),
      anchor_spread: Number.isFinite(spread) ? +spread.toFixed(3) : null,
      anchor_steady: spread < 0.1,
    };
    writeBenchResult(`policy-${workload}`, result);
    rows.push({
      workload,
      ours_ms: result.ours_ms,
      torch_ms: result.anchor_ms,
      ratio: result.ratio,
      backend: onnx && workload !== 'train' ? `onnx×${onnx.threads}` : `${backend.choice}×${backend.threads}`,
      load: loadNow(),
      torch_threads: result.anchor_threads ?? '-',
      ours_rss_mib: result.ours_peak_rss_mib,
      torch_rss_mib: result.anchor_peak_rss_mib,
    });
  }
  printTable(rows);
  if (args.defaultDecision) await benchDefaultDecision(args.repeat);
  console.log(`machine: ${machineDescription()}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; results in bench/results/policy-*.json`);
}

await main();
