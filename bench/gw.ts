// `npm run bench -- gw`: `pamstack gw` next to POT 0.8.2 on the same inputs, n = m = 100, 500, 1000.
//
// Ours is the command users run (`pamstack gw --in FILE --json`, its own `ms`: solve time, start-up
// excluded), in its default mode: the fast entropic solver (FAST_ENTROPIC_GW: warm, inexact,
// over-relaxed inner Sinkhorns, Aitken-extrapolated outer steps, f32 products of each step's change on
// ONNX Runtime where it loads),
// the same fixed point as POT's iterates, agreement reported. `--exact` also times the command's
// `--exact` mode (POT's own rules). CG is POT's Frank–Wolfe with exact line search. Each workload is
// repeated, ours and POT back to back, until POT's spread is below 10 % or the round limit; each round's
// ratio is printed with the machine load beside it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Rng, parseOrThrow } from '../src/core/index.ts';
import { loadOrtMatmul } from '../src/nn/onnx-matmul.ts';
import { FAST_ENTROPIC_GW, defaultMatmulKernel } from '../src/transfer/index.ts';
import { DEBIAN_PYTHON, loadNow, machineDescription, printTable, repeatUntilSteady, writeBenchResult } from './_common.ts';

const DEFAULT_EPSILON = 0.01;
const FlagsSchema = z.strictObject({
  sizes: z.string().regex(/^\d+(,\d+)*$/).default('100,500,1000'),
  epsilon: z.coerce.number().positive().default(DEFAULT_EPSILON),
  seed: z.coerce.number().int().default(0),
  solvers: z.string().regex(/^(entropic|cg)(,(entropic|cg))*$/).default('entropic,cg'),
  /** Also time `pamstack gw --exact` (POT's iterates). */
  exact: z.boolean().default(false),
  /** Round limit of each workload. */
  rounds: z.coerce.number().int().min(1).max(50).default(6),
  /** Target spread of POT's rounds, (max − min)/median. */
  spread: z.coerce.number().positive().default(0.1),
});

function parseArgs(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)} (flags: --sizes 100,500 --epsilon E --seed S --solvers entropic,cg --exact --rounds R --spread F)`);
    if (a === '--exact') out.exact = true;
    else out[a.slice(2)] = argv[++i] ?? '';
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

interface GwOut {
  T: number[][];
  gw: number;
  iterations: number | null;
  ms: number;
}

function lastJsonLine(stdout: string): GwOut {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as GwOut;
}

function runPot(file: string): GwOut {
  const script = fileURLToPath(new URL('../../shared/anchors/pot_gw.py', import.meta.url));
  if (!existsSync(script)) throw new Error(`anchor script not found: ${script}`);
  const py = spawnSync(DEBIAN_PYTHON, ['-W', 'ignore', script, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (py.status !== 0) throw new Error(`POT anchor failed: ${py.stderr}`);
  return lastJsonLine(py.stdout);
}

const CLI = fileURLToPath(new URL('../bin/pamstack.js', import.meta.url));

/** `pamstack gw --in FILE --json` as a user runs it; its `ms` is the solve time (start-up excluded). */
function runOurs(file: string, exact: boolean): GwOut {
  const r = spawnSync(process.execPath, [CLI, 'gw', '--in', file, '--json', ...(exact ? ['--exact'] : [])], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`pamstack gw failed: ${r.stderr}`);
  return lastJsonLine(r.stdout);
}

function agreement(ours: GwOut, pot: GwOut): { max_abs_T: number; gw_rel: number } {
  const Tp = pot.T.flat(), To = ours.T.flat();
  let mx = 0;
  for (let i = 0; i < Tp.length; i++) mx = Math.max(mx, Math.abs(To[i]! - Tp[i]!));
  return { max_abs_T: mx, gw_rel: Math.abs(ours.gw - pot.gw) / Math.abs(pot.gw) };
}

const flags = parseOrThrow(FlagsSchema, parseArgs(process.argv.slice(2)), 'gw bench flags');
// what `pamstack gw` multiplies with (it loads the same kernel): named in the result
const ortProducts = await loadOrtMatmul().then((k) => {
  k?.dispose();
  return k?.name ?? null;
});
const sizes = flags.sizes.split(',').map(Number);
const solvers = flags.solvers.split(',');
const dir = mkdtempSync(join(os.tmpdir(), 'pamstack-gw-bench-'));
const rows: Record<string, string | number>[] = [];
try {
  for (const n of sizes) {
    const rng = new Rng(flags.seed + n);
    const a = metricSpace(n, rng), b = metricSpace(n, rng);
    const extra: Record<string, unknown> = {};
    let main: { ours: number; pot: number; spread: number; load: string } | null = null;
    for (const solver of solvers) {
      const file = join(dir, `gw-${n}-${solver}.json`);
      writeFileSync(
        file,
        JSON.stringify({ C1: nested(a.C, n, n), C2: nested(b.C, n, n), p: Array.from(a.w), q: Array.from(b.w), epsilon: flags.epsilon, loss: 'square_loss', solver }),
      );
      const modes = solver === 'entropic' ? (flags.exact ? ['fast', 'exact'] : ['fast']) : ['default'];
      for (const mode of modes) {
        let last: { ours: GwOut; pot: GwOut } | null = null;
        const t = repeatUntilSteady(`n=${n} ${solver} ${mode}`, () => {
          const ours = runOurs(file, mode === 'exact');
          const pot = runPot(file);
          last = { ours, pot };
          return { ours_ms: ours.ms, anchor_ms: pot.ms };
        }, { spread: flags.spread, maxRounds: flags.rounds });
        const { ours, pot } = last!;
        const agree = agreement(ours, pot);
        const key = solver === 'cg' ? 'cg' : `entropic_${mode}`;
        const load = loadNow();
        if (!main) main = { ours: t.ours_ms, pot: t.anchor_ms, spread: t.anchor_spread, load };
        extra[key] = { ms: t.ours_ms, pot_ms: t.anchor_ms, ratio: t.ratio, anchor_spread: t.anchor_spread, steady: t.steady, rounds: t.rounds, iterations: ours.iterations, pot_iterations: pot.iterations, gw: ours.gw, pot_gw: pot.gw, ...agree };
        rows.push({ n, solver: solver === 'cg' ? 'cg' : `entropic ${mode}`, ours_ms: t.ours_ms, pot_ms: t.anchor_ms, ratio: t.ratio, load, pot_spread: `${(100 * t.anchor_spread).toFixed(0)} %`, rounds: t.rounds.length, max_abs_dT: agree.max_abs_T });
      }
    }
    // the default ε keeps the plain name; another ε gets its own file so both stay on record
    const path = writeBenchResult(flags.epsilon === DEFAULT_EPSILON ? `gw-${n}` : `gw-${n}-eps${flags.epsilon}`, {
      name: 'gw',
      workload: `n=m=${n}, clustered 8-d Euclidean /max, non-uniform marginals, square loss, epsilon ${flags.epsilon}; ours_ms: pamstack gw --json ms (${solvers[0] === 'entropic' ? 'entropic, default fast solver' : 'cg'}), median of rounds`,
      ours_ms: main!.ours,
      anchor: 'POT 0.8.2 (numpy/OpenBLAS), ../shared/anchors/pot_gw.py',
      anchor_ms: main!.pot,
      ratio: main!.ours / main!.pot,
      backend: `f32 products of ΔT on ${ortProducts ?? 'wasm-simd-f32 (onnxruntime-node does not load here)'}; ${defaultMatmulKernel().name} f64 matmul, Sinkhorn sweep and exps on one thread; fast options ${JSON.stringify(FAST_ENTROPIC_GW)}`,
      machine: `${machineDescription()}, ${main!.load}, anchor spread ${(100 * main!.spread).toFixed(1)} %`,
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
