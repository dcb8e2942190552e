// `npm run bench -- perception-organised`: what the perception node does with one live 640×480
// organised depth frame (307,200 points, NaN where the sensor saw nothing), from the PointCloud2 as it
// arrives to the object cloud the policy reads: unpack (drop NaN) → camera → table → crop → plane →
// voxel → outliers → FPS → pack. Open3D runs the same preprocessing on the same table-frame points.
// Also prints, for the stale-cloud limit, camera stamp → object cloud out on this machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fuseCamerasToTable } from '../src/cloud/fusion.ts';
import { cameraCloudToTableBox } from '../src/cloud/camera-to-table.ts';
import { packPointCloud2, stampToSeconds, unpackPointCloud2 } from '../src/cloud/pointcloud2.ts';
import { PREPROCESS_STAGES, preprocessChain, type PreprocessParamsInput } from '../src/cloud/preprocess.ts';
import { parseOrThrow } from '../src/core/errors.ts';
import { BENCH_BOX } from './_perception-cloud.ts';
import { Rng } from '../src/core/rng.ts';
import type { PointCloud2 } from '../src/record/index.ts';
import { DEBIAN_PYTHON, machineDescription, median, printTable, writeBenchResult } from './_common.ts';

const FlagsSchema = z.strictObject({
  repeat: z.coerce.number().int().min(1).max(50).default(7),
  seed: z.coerce.number().int().default(0),
});
const args: Record<string, string> = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (!argv[i]!.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(argv[i])} (flags: --repeat N --seed S)`);
  args[argv[i]!.slice(2)] = argv[++i] ?? '';
}
const flags = parseOrThrow(FlagsSchema, args, 'perception-organised bench flags');
const K = 3000;
const params: PreprocessParamsInput = {
  box: { min: [BENCH_BOX[0], BENCH_BOX[1], BENCH_BOX[2]], max: [BENCH_BOX[3], BENCH_BOX[4], BENCH_BOX[5]] },
  plane: { distanceThreshold: 0.01, iterations: 200 },
  voxel: { voxelSize: 0.005 },
  outliers: { neighbors: 20, stdRatio: 2 },
  fps: { k: K },
  seed: flags.seed,
};

/**
 * A D435-like frame (640×480, fx = fy = 600 px) from 0.9 m above the table looking straight down at
 * the bench scene (tilted table, crumpled cloth, floor beyond the table edge): depth noise 1.5 mm,
 * 3 % of pixels invalid (NaN), 1 % flying pixels between camera and surface. Points in the camera's
 * optical frame (x right, y down, z forward), x,y,z float32 with 4 bytes padding (point_step 16).
 */
function makeOrganisedDepthFrame(seed: number): { msg: PointCloud2; cameraToTable: Float64Array; valid: number } {
  const W = 640, H = 480, f = 600, cx = 319.5, cy = 239.5;
  const C = [0.05, 0.0, 0.9];
  const rng = new Rng(seed);
  const tilt = Math.tan((0.6 * Math.PI) / 180);
  const clothC = [0.05, 0.02], half = 0.18;
  const surface = (x: number, y: number): number => {
    if (Math.abs(x) > 0.6 || Math.abs(y) > 0.45) return -0.75;
    const u = (x - clothC[0]!) / half, v = (y - clothC[1]!) / half;
    const cloth = Math.abs(u) < 1 && Math.abs(v) < 1 ? 0.012 + 0.025 * Math.max(0, Math.cos(2.1 * u + 0.4) * Math.cos(1.7 * v)) + 0.012 * Math.sin(5 * u + 3 * v) ** 2 : 0;
    return tilt * x + cloth;
  };
  const data = new Uint8Array(W * H * 16);
  const view = new DataView(data.buffer);
  let valid = 0;
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++) {
      const dx = (c - cx) / f, dy = (r - cy) / f;
      let depth = C[2]!;
      for (let it = 0; it < 4; it++) depth = C[2]! - surface(C[0]! + depth * dx, C[1]! - depth * dy);
      depth += rng.normal(0, 0.0015);
      const roll = rng.next();
      if (roll < 0.03) depth = NaN;
      else if (roll < 0.04) depth *= rng.uniform(0.5, 0.95);
      if (!Number.isNaN(depth)) valid++;
      const o = (r * W + c) * 16;
      view.setFloat32(o, depth * dx, true);
      view.setFloat32(o + 4, depth * dy, true);
      view.setFloat32(o + 8, depth, true);
    }
  const msg: PointCloud2 = {
    header: { stamp: { sec: 1_700_000_000, nanosec: 0 }, frame_id: 'camera_color_optical_frame' },
    height: H,
    width: W,
    fields: [
      { name: 'x', offset: 0, datatype: 7, count: 1 },
      { name: 'y', offset: 4, datatype: 7, count: 1 },
      { name: 'z', offset: 8, datatype: 7, count: 1 },
    ],
    is_bigendian: false,
    point_step: 16,
    row_step: 16 * W,
    data,
    is_dense: false,
  };
  // Optical frame → table: x stays, y and z flip (looking down), camera at C.
  const cameraToTable = Float64Array.from([1, 0, 0, C[0]!, 0, -1, 0, C[1]!, 0, 0, -1, C[2]!, 0, 0, 0, 1]);
  return { msg, cameraToTable, valid };
}

const frame = makeOrganisedDepthFrame(flags.seed);

/** The perception node's work on one frame (ros/nodes/perception.ts `run`, one camera). */
function perceive() {
  const t0 = performance.now();
  const table = cameraCloudToTableBox(frame.msg, frame.cameraToTable, params.box!);
  const t1 = performance.now();
  const r = preprocessChain(table, { ...params, box: null });
  const t2 = performance.now();
  const out = packPointCloud2({ points: r.points, frame: 'table', stamp: stampToSeconds(frame.msg.header.stamp) });
  const t3 = performance.now();
  return { total: t3 - t0, read: t1 - t0, chain: r, pack: t3 - t2, out };
}

/** The same frame as the anchor reads it: every finite point in the table frame (Open3D then crops). */
function tableFramePoints(): Float32Array {
  const cloud = unpackPointCloud2(frame.msg, { frame: 'camera_0' });
  return fuseCamerasToTable([{ cloud, extrinsics: { from: 'camera_0', to: 'table', matrix: frame.cameraToTable } }]).cloud.points;
}

const warm = perceive();
const cpu: number[] = [];
const runs = Array.from({ length: flags.repeat }, () => {
  const u = process.cpuUsage();
  const r = perceive();
  const d = process.cpuUsage(u);
  cpu.push((d.user + d.system) / 1000);
  return r;
});
const ours = {
  ms: median(runs.map((r) => r.total)),
  stages: {
    // read + camera -> table + crop, one pass: compare with Open3D's crop
    crop: median(runs.map((r) => r.read)),
    ...Object.fromEntries(PREPROCESS_STAGES.filter((s) => s !== 'crop').map((s) => [s, median(runs.map((r) => r.chain.stageMs[s]))])),
    pack: median(runs.map((r) => r.pack)),
  } as Record<string, number>,
};

const dir = mkdtempSync(join(os.tmpdir(), 'pamstack-perception-organised-'));
const file = join(dir, 'cloud.f32');
void warm;
const pts = tableFramePoints();
writeFileSync(file, new Uint8Array(pts.buffer, pts.byteOffset, pts.byteLength));
const script = fileURLToPath(new URL('../../shared/anchors/open3d_prep.py', import.meta.url));
if (!existsSync(script)) throw new Error(`anchor script not found: ${script}`);
const py = spawnSync(DEBIAN_PYTHON, [script, file, '--k', String(K), '--box', BENCH_BOX.join(','), '--repeat', String(flags.repeat)], { encoding: 'utf8', maxBuffer: 16 << 20 });
rmSync(dir, { recursive: true, force: true });
if (py.status !== 0) {
  console.error(py.stderr || py.error?.message);
  throw new Error(`Open3D anchor failed (exit ${py.status}); install it with: apt-get install -y python3-open3d`);
}
const anchor = parseOrThrow(
  z.object({ points_in: z.number(), points_out: z.number(), ms: z.number(), ms_all: z.array(z.number()), stages_ms: z.record(z.string(), z.number()) }),
  JSON.parse(py.stdout.trim().split('\n').at(-1)!),
  'Open3D anchor output',
);

const rows = Object.entries(ours.stages).map(([stage, ms]) => ({ stage, ours_ms: ms, open3d_ms: anchor.stages_ms[stage] ?? NaN }));
rows.push({ stage: 'total (median)', ours_ms: ours.ms, open3d_ms: anchor.ms });
const ratio = ours.ms / anchor.ms;
console.log(`perception-organised: 640x480 frame, ${frame.valid} valid of 307200 points; ${flags.repeat} runs each (ours: from the PointCloud2 bytes, crop = read + camera->table + crop; Open3D: preprocessing of the same points already in the table frame)`);
printTable(rows);
console.log(`ratio ours/Open3D = ${ratio.toFixed(3)} (goal <= 0.5); ours ${ours.ms.toFixed(1)} ms wall (goal <= 150 ms), median CPU ${median(cpu).toFixed(1)} ms`);
console.log(`stale limit: safety's stale_cloud_timeout compares now with the object cloud's stamp, which is the camera's stamp; so it measures sensor -> driver -> perception (${ours.ms.toFixed(0)} ms here) -> safety`);

const path = writeBenchResult('perception-organised', {
  name: 'perception-organised',
  workload: `one 640x480 organised depth frame (PointCloud2, 307200 points, ${frame.valid} valid) -> unpack, camera->table, crop, RANSAC plane (1 cm, <= 200 it.), 5 mm voxel, outliers (20, 2 std), FPS to ${K}, pack`,
  ours_ms: ours.ms,
  anchor: 'Open3D 0.16 (shared/anchors/open3d_prep.py) preprocessing of the same table-frame points',
  anchor_ms: anchor.ms,
  ratio,
  backend: 'node typed arrays, 1 thread',
  machine: machineDescription(),
  repeat: flags.repeat,
  stages_ms: ours.stages,
  anchor_stages_ms: anchor.stages_ms,
  points: { in: 307200, valid: frame.valid, ...runs[0]!.chain.counts, crop: runs[0]!.chain.counts.crop, out: runs[0]!.out.width, anchor_in: anchor.points_in, anchor_out: anchor.points_out },
  ms_all: runs.map((r) => r.total),
  ours_cpu_ms: median(cpu),
  anchor_ms_all: anchor.ms_all,
});
console.log(`wrote ${path}`);
