// `npm run bench -- gw`: our GW solvers next to POT 0.8.2's on the same inputs, n = m = 100, 500, 1000.
//
// Entropic "mirror" runs POT's exact rules (cold-started inner Sinkhorn, checks every 10th iteration);
// "fast" warm-starts the inner Sinkhorn, checks both stopping rules every iteration, stops each inner
// Sinkhorn at 0.01·‖ΔT‖ of the last outer step, over-relaxes it with an ω fitted to its observed rate,
// Aitken-extrapolates the outer iteration near its fixed point, and updates the tensor product by f32
// products of each step's change (one exact f64 product near the end): the same fixed point, agreement
// with POT reported.
// CG is POT's Frank–Wolfe with exact line search.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Rng, parseOrThrow } from '../src/core/index.ts';
import { type GwProblem, type GwResult, cgGromovWasserstein, defaultMatmulKernel, entropicGromovWasserstein } from '../src/transfer/index.ts';
import { DEBIAN_PYTHON, machineDescription, printTable, writeBenchResult } from './_common.ts';

const FlagsSchema = z.strictObject({
  sizes: z.string().regex(/^\d+(,\d+)*$/).default('100,500,1000'),
  epsilon: z.coerce.number().positive().default(0.01),
  seed: z.coerce.number().int().default(0),
  solvers: z.string().regex(/^(entropic|cg)(,(entropic|cg))*$/).default('entropic,cg'),
  /** Which entropic configurations to time: mirror (POT's rules) and/or fast (warm start). */
  modes: z.string().regex(/^(mirror|fast)(,(mirror|fast))*$/).default('mirror,fast'),
});

/** The fast mode's inexact-inner factor (entropicGromovWasserstein's innerTolerance). */
const FAST_INNER_TOLERANCE = 0.01;

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)} (flags: --sizes 100,500 --epsilon E --seed S --solvers entropic,cg)`);
    out[a.slice(2)] = argv[++i] ?? '';
  }
  return out;
}

/** A clustered 8-d cloud's Euclidean distances divided by their max, and non-uniform weights. */
function metricSpace(n: number, rng: Rng): { C: Float64Array; w: Float64Array } {
  const d = 8, k = 5;
  const centres = Array.from({ length: k * d }, () => 3 * rng.normal());
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng.next() * k);
    for (let t = 0; t < d; t++) X[i * d + t] = centres[c * d + t]! + rng.normal();
  }
  const C = new Float64Array(n * n);
  let mx = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (X[i * d + t]! - X[j * d + t]!) ** 2;
      C[i * n + j] = C[j * n + i] = Math.sqrt(s);
      mx = Math.max(mx, Math.sqrt(s));
    }
  for (let i = 0; i < C.length; i++) C[i]! /= mx;
  const w = new Float64Array(n).map(() => rng.uniform(0.5, 1.5));
  const s = w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) w[i]! /= s;
  return { C, w };
}

function nested(A: Float64Array, n: number, m: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * m, (i + 1) * m)));
}

interface PotOut {
  T: number[][];
  gw: number;
  iterations: number | null;
  ms: number;
}

function runPot(file: string): PotOut {
  const script = fileURLToPath(new URL('../../shared/anchors/pot_gw.py', import.meta.url));
  if (!existsSync(script)) throw new Error(`anchor script not found: ${script}`);
  const py = spawnSync(DEBIAN_PYTHON, ['-W', 'ignore', script, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (py.status !== 0) throw new Error(`POT anchor failed: ${py.stderr}`);
  const lines = py.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as PotOut;
}

function agreement(ours: GwResult, pot: PotOut): { max_abs_T: number; gw_rel: number } {
  const Tp = pot.T.flat();
  let mx = 0;
  for (let i = 0; i < Tp.length; i++) mx = Math.max(mx, Math.abs(ours.T[i]! - Tp[i]!));
  return { max_abs_T: mx, gw_rel: Math.abs(ours.gw - pot.gw) / Math.abs(pot.gw) };
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
}

const flags = parseOrThrow(FlagsSchema, parseArgs(process.argv.slice(2)), 'gw bench flags');
const sizes = flags.sizes.split(',').map(Number);
const solvers = flags.solvers.split(',');
const dir = mkdtempSync(join(os.tmpdir(), 'pamstack-gw-bench-'));
const rows: Record<string, string | number>[] = [];
// Warm the JIT (and tier the WebAssembly kernels up from the baseline compiler) on a small problem, a
// few times per configuration, so the first timed size is not charged for compilation.
const FAST = {
  warmStart: true, checkEvery: 1, innerTolerance: FAST_INNER_TOLERANCE, extrapolate: true, f32Products: true, adaptiveRelax: true,
  sinkhorn: { checkEvery: 1 },
};
{
  const rng = new Rng(1);
  const a = metricSpace(64, rng), b = metricSpace(64, rng);
  const prob: GwProblem = { C1: a.C, C2: b.C, p: a.w, q: b.w };
  for (let r = 0; r < 3; r++) {
    entropicGromovWasserstein(prob, { epsilon: flags.epsilon });
    entropicGromovWasserstein(prob, { epsilon: flags.epsilon, ...FAST });
    cgGromovWasserstein(prob);
  }
}
try {
  for (const n of sizes) {
    const rng = new Rng(flags.seed + n);
    const a = metricSpace(n, rng), b = metricSpace(n, rng);
    const prob: GwProblem = { C1: a.C, C2: b.C, p: a.w, q: b.w };
    const extra: Record<string, unknown> = {};
    let main: { ours: number; pot: number } | null = null;
    for (const solver of solvers) {
      const file = join(dir, `gw-${n}-${solver}.json`);
      writeFileSync(
        file,
        JSON.stringify({ C1: nested(a.C, n, n), C2: nested(b.C, n, n), p: Array.from(a.w), q: Array.from(b.w), epsilon: flags.epsilon, loss: 'square_loss', solver }),
      );
      const pot = runPot(file);
      if (solver === 'entropic') {
        const ent: Record<string, unknown> = { epsilon: flags.epsilon, pot: { ms: pot.ms, iterations: pot.iterations, gw: pot.gw } };
        for (const mode of flags.modes.split(',')) {
          const opts = mode === 'mirror' ? { epsilon: flags.epsilon } : { epsilon: flags.epsilon, ...FAST };
          const [r, ms] = timed(() => entropicGromovWasserstein(prob, opts));
          main ??= { ours: ms, pot: pot.ms };
          ent[mode] = { ms, ratio: ms / pot.ms, iterations: r.iterations, inner: r.inner, ...agreement(r, pot) };
          rows.push({ n, solver: `entropic ${mode}`, ours_ms: ms, pot_ms: pot.ms, ratio: ms / pot.ms, outer: r.iterations, inner: r.inner!.iterations, max_abs_dT: agreement(r, pot).max_abs_T });
        }
        extra.entropic = ent;
      } else {
        const [cg, cgMs] = timed(() => cgGromovWasserstein(prob));
        main ??= { ours: cgMs, pot: pot.ms };
        extra.cg = { ms: cgMs, iterations: cg.iterations, gw: cg.gw, ratio: cgMs / pot.ms, pot: { ms: pot.ms, iterations: pot.iterations, gw: pot.gw }, ...agreement(cg, pot) };
        rows.push({ n, solver: 'cg', ours_ms: cgMs, pot_ms: pot.ms, ratio: cgMs / pot.ms, outer: cg.iterations, inner: '-', max_abs_dT: agreement(cg, pot).max_abs_T });
      }
    }
    const path = writeBenchResult(`gw-${n}`, {
      name: 'gw',
      workload: `n=m=${n}, clustered 8-d Euclidean /max, non-uniform marginals, square loss; ours_ms: ${solvers[0] === 'entropic' ? `entropic ${flags.modes.split(',')[0]}` : 'cg'}`,
      ours_ms: main!.ours,
      anchor: 'POT 0.8.2 (numpy/OpenBLAS), ../shared/anchors/pot_gw.py',
      anchor_ms: main!.pot,
      ratio: main!.ours / main!.pot,
      backend: `${defaultMatmulKernel().name} (f64 matmul, Sinkhorn sweep and exps; fast mode: f32 products of ΔT; one thread)`,
      machine: `${machineDescription()}, load ${os.loadavg()[0]!.toFixed(1)} (shared: timings noisy)`,
      ...extra,
    });
    console.error(`wrote ${path}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
printTable(rows);

// Ratios per n side by side, and how time grows with n: the exponent e of t ∝ n^e between sizes.
const labels = [...new Set(rows.map((r) => String(r.solver)))];
console.log('\nratio (ours/POT) per n');
printTable(sizes.map((n) => Object.fromEntries([['n', n], ...labels.map((l) => [l, rows.find((r) => r.n === n && r.solver === l)?.ratio ?? '-'])])));
if (sizes.length > 1) {
  console.log('\ngrowth exponent e (t ∝ n^e) between consecutive sizes');
  const growth: Record<string, string | number>[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const [n0, n1] = [sizes[i - 1]!, sizes[i]!];
    for (const l of labels) {
      const a = rows.find((r) => r.n === n0 && r.solver === l), b = rows.find((r) => r.n === n1 && r.solver === l);
      if (!a || !b) continue;
      const e = (x: number, y: number) => Math.log(y / x) / Math.log(n1 / n0);
      growth.push({ sizes: `${n0}→${n1}`, solver: l, ours: e(Number(a.ours_ms), Number(b.ours_ms)), pot: e(Number(a.pot_ms), Number(b.pot_ms)) });
    }
  }
  printTable(growth);
}
