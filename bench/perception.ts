// `npm run bench -- perception`: our preprocessing chain next to Open3D's on the same 100k-point file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseOrThrow } from '../src/core/errors.ts';
import { PREPROCESS_STAGES, preprocessChain, type PreprocessParamsInput } from '../src/cloud/preprocess.ts';
import { BENCH_BOX, makePerceptionCloud } from './_perception-cloud.ts';
import { DEBIAN_PYTHON, machineDescription, median, printTable, writeBenchResult } from './_common.ts';

const FlagsSchema = z.strictObject({
  repeat: z.coerce.number().int().min(1).max(50).default(7),
  points: z.coerce.number().int().min(1000).max(2_000_000).default(100_000),
  seed: z.coerce.number().int().default(0),
});

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)} (flags: --repeat N --points N --seed S)`);
    out[a.slice(2)] = argv[++i] ?? '';
  }
  return out;
}

const flags = parseOrThrow(FlagsSchema, parseArgs(process.argv.slice(2)), 'perception bench flags');
const K = 3000;
const params: PreprocessParamsInput = {
  box: { min: [BENCH_BOX[0], BENCH_BOX[1], BENCH_BOX[2]], max: [BENCH_BOX[3], BENCH_BOX[4], BENCH_BOX[5]] },
  plane: { distanceThreshold: 0.01, iterations: 200 },
  voxel: { voxelSize: 0.005 },
  outliers: { neighbors: 20, stdRatio: 2 },
  fps: { k: K },
  seed: flags.seed,
};

const cloud = makePerceptionCloud(flags.points, flags.seed);
const dir = mkdtempSync(join(os.tmpdir(), 'pamstack-perception-'));
const file = join(dir, 'cloud.f32');
writeFileSync(file, new Uint8Array(cloud.buffer, cloud.byteOffset, cloud.byteLength)); // little-endian float32 x,y,z

// Ours: one warm-up run (JIT), then `repeat` timed runs; medians per stage and overall.
preprocessChain(cloud, params);
// CPU time alongside wall time: on a shared machine the gap shows how much waiting for a core cost.
const cpuMs: number[] = [];
const runs = Array.from({ length: flags.repeat }, () => {
  const u = process.cpuUsage();
  const r = preprocessChain(cloud, params);
  const d = process.cpuUsage(u);
  cpuMs.push((d.user + d.system) / 1000);
  return r;
});
const ours = {
  ms: median(runs.map((r) => r.totalMs)),
  stages: Object.fromEntries(PREPROCESS_STAGES.map((s) => [s, median(runs.map((r) => r.stageMs[s]))])) as Record<string, number>,
  counts: runs[0]!.counts,
};

// Open3D's anchor on the same file and parameters, in this same invocation.
const script = fileURLToPath(new URL('../../shared/anchors/open3d_prep.py', import.meta.url));
if (!existsSync(script)) throw new Error(`anchor script not found: ${script}`);
const py = spawnSync(DEBIAN_PYTHON, [script, file, '--k', String(K), '--box', BENCH_BOX.join(','), '--repeat', String(flags.repeat)], {
  encoding: 'utf8',
  maxBuffer: 16 << 20,
});
rmSync(dir, { recursive: true, force: true });
if (py.status !== 0) {
  console.error(py.stderr || py.error?.message);
  throw new Error(
    `Open3D anchor failed (exit ${py.status}); install it with: apt-get update && apt-get install -y python3-open3d`,
  );
}
const AnchorSchema = z.object({
  points_in: z.number(),
  points_out: z.number(),
  ms: z.number(),
  ms_all: z.array(z.number()),
  stages_ms: z.record(z.string(), z.number()),
});
const anchor = parseOrThrow(AnchorSchema, JSON.parse(py.stdout.trim().split('\n').at(-1)!), 'Open3D anchor output');

const rows: { stage: string; points_after: number; ours_ms: number; open3d_ms: number; ratio: number }[] = PREPROCESS_STAGES.map((s) => ({
  stage: s,
  points_after: ours.counts[s],
  ours_ms: ours.stages[s]!,
  open3d_ms: anchor.stages_ms[s] ?? NaN,
  ratio: ours.stages[s]! / (anchor.stages_ms[s] ?? NaN),
}));
rows.push({ stage: 'total (median)', points_after: ours.counts.fps, ours_ms: ours.ms, open3d_ms: anchor.ms, ratio: ours.ms / anchor.ms });
console.log(`perception: ${flags.points} points, ${flags.repeat} runs each; Open3D stage times are from its last run, ours are medians`);
printTable(rows);
const ratio = ours.ms / anchor.ms;
console.log(`ratio ours/Open3D = ${ratio.toFixed(3)} (goal ≤ 0.5); ours: median CPU ${median(cpuMs).toFixed(1)} ms for ${ours.ms.toFixed(1)} ms wall; timings on a shared machine are noisy`);

const path = writeBenchResult('perception', {
  name: 'perception',
  workload: `${flags.points}-point table+cloth cloud: crop to box, RANSAC plane (1 cm, ≤ 200 iterations, early stop at p = 0.99999999 as Open3D), 5 mm voxel, statistical outliers (20, 2 std), FPS to ${K}`,
  ours_ms: ours.ms,
  anchor: 'Open3D 0.16 (shared/anchors/open3d_prep.py)',
  anchor_ms: anchor.ms,
  ratio,
  backend: 'node typed arrays, 1 thread',
  machine: machineDescription(),
  repeat: flags.repeat,
  stages_ms: ours.stages,
  anchor_stages_ms: anchor.stages_ms,
  points: { in: flags.points, ...ours.counts, anchor_out: anchor.points_out },
  ms_all: runs.map((r) => r.totalMs),
  ours_cpu_ms: median(cpuMs),
  anchor_ms_all: anchor.ms_all,
});
console.log(`wrote ${path}`);
