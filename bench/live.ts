// `npm run bench -- live`: 50k-point clouds streamed to the live view in real Chromium: frames per second,
// end-to-end latency (publish → pixels drawn) and the server's memory, with a stalled client connected.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';
import type { Candidate } from '../src/core/episode.ts';
import { makeCloud, type PointCloud } from '../src/core/pointcloud.ts';
import { Rng } from '../src/core/rng.ts';
import { startServer } from '../src/server/server.ts';
import { Store } from '../src/store/store.ts';
import { machineDescription, median, printTable, writeBenchResult } from './_common.ts';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const POINTS = Number(args.get('points') ?? 50_000);
const HZ = Number(args.get('hz') ?? 30);
const SECONDS = Number(args.get('seconds') ?? 10);
const CANDIDATES = Number(args.get('candidates') ?? 8);
/** sync=1: the page waits for the pixels after each draw (readPixels), so latency includes the whole draw. */
const SYNC = (args.get('sync') ?? '1') !== '0';
const WARMUP = 3;
const GOAL_MS = 50;
const CHROMIUM = process.env.PAMSTACK_CHROMIUM ?? '/usr/bin/chromium';
/**
 * WebGL without a GPU: Mesa's llvmpipe through ANGLE when Mesa is installed (about twice as fast as
 * SwiftShader for points), else SwiftShader, which ships with Chromium. --gl=swiftshader|llvmpipe forces one.
 */
const MESA = existsSync('/usr/lib/x86_64-linux-gnu/dri/swrast_dri.so') || existsSync('/usr/lib/aarch64-linux-gnu/dri/swrast_dri.so');
const GL = args.get('gl') ?? (MESA ? 'llvmpipe' : 'swiftshader');
const GL_ARGS = GL === 'llvmpipe' ? ['--use-gl=angle', '--use-angle=gl-egl'] : ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

/** A crumpled-cloth-like surface of n points with colours; `phase` deforms it so every frame differs. */
function clothCloud(n: number, phase: number, rng: Rng): PointCloud {
  const p = new Float32Array(n * 3);
  const c = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform(-1, 1);
    const v = rng.uniform(-1, 1);
    p[i * 3] = 0.25 * u;
    p[i * 3 + 1] = 0.2 * v;
    p[i * 3 + 2] = 0.03 + 0.025 * Math.sin(5 * u + phase) * Math.cos(4 * v - phase);
    c[i * 3] = 90 + Math.round(80 * (u + 1));
    c[i * 3 + 1] = 120;
    c[i * 3 + 2] = 200 - Math.round(60 * (v + 1));
  }
  return makeCloud(p, 'table', phase, c);
}

/** CPU seconds used so far by every Chromium process (main, GPU, renderers), from /proc. */
function chromiumCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!/\((chromium|chrome)[^)]*\)/.test(stat)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime + stime
    } catch {
      /* exited meanwhile */
    }
  }
  return ticks / 100; // USER_HZ
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

const tmp = mkdtempSync(join(tmpdir(), 'pam-bench-live-'));
const store = new Store(join(tmp, 'db.sqlite'));
const token = store.users.add('bench', 'operator').token;
const server = await startServer({ port: 0, store, log: () => {} });
const rng = new Rng(1);
const frames = Array.from({ length: 30 }, (_, k) => clothCloud(POINTS, (k / 30) * 2 * Math.PI, rng));
const candidates: Candidate[] = Array.from({ length: CANDIDATES }, (_, i) => ({
  primitive: { kind: 'fling', a: [-0.2 + 0.05 * i, -0.1, 0.05], b: [-0.2 + 0.05 * i, 0.1, 0.05] },
  score: Math.sin(i),
  safe: true,
}));

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [...GL_ARGS, '--ignore-gpu-blocklist', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.goto(`${server.url}${SYNC ? '?sync=1' : ''}#/live&token=${token}`);
await page.waitForFunction(() => (window as unknown as { __pam?: { view: string } }).__pam?.view === 'live');
const renderer = (await page.evaluate(() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  const e = gl?.getExtension('WEBGL_debug_renderer_info');
  return gl ? String(gl.getParameter(e ? e.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'no WebGL2';
})) as string;

// A client that subscribes and then stops reading: its frames must be dropped, not queued.
const stalled = new WebSocket(server.url.replace('http', 'ws') + 'ws');
await new Promise((r) => stalled.once('open', r));
stalled.send(JSON.stringify({ op: 'auth', id: 1, token }));
stalled.send(JSON.stringify({ op: 'live', id: 2, subscribe: true }));
await new Promise((r) => setTimeout(r, 200));
(stalled as unknown as { _socket: { pause(): void } })._socket.pause();

// Publish at HZ with a drift-free schedule; sample the server's memory as we go.
const mem: { t: number; rss: number; heap: number; buffers: number; held: number }[] = [];
let k = 0;
let publishMs = 0;
const t0 = performance.now();
const total = (WARMUP + SECONDS) * HZ;
let cpuAtWarmup = 0;
let statsAtWarmup: { frames: number; skipped: number; consume: number; render: number } | null = null;
while (k < total) {
  const due = t0 + (k * 1000) / HZ;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const s = performance.now();
  server.publishLive({ cloud: frames[k % frames.length]!, task: 'cloth-unfold', step: k, candidates, chosen: CANDIDATES ? k % CANDIDATES : null, source: 'bench' });
  publishMs += performance.now() - s;
  k++;
  if (k === WARMUP * HZ) {
    cpuAtWarmup = chromiumCpuSeconds();
    statsAtWarmup = (await page.evaluate(() => {
      const l = (window as unknown as { __pam: { live: { frames: number; skipped: number; latencyMs: number[]; consumeTotalMs: number; renderTotalMs: number } } }).__pam.live;
      l.latencyMs.length = 0;
      return { frames: l.frames, skipped: l.skipped, consume: l.consumeTotalMs, render: l.renderTotalMs };
    })) as { frames: number; skipped: number; consume: number; render: number };
  }
  if (k % Math.max(1, Math.round(HZ / 4)) === 0) {
    const m = process.memoryUsage();
    mem.push({ t: (performance.now() - t0) / 1000, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, buffers: m.arrayBuffers / 2 ** 20, held: server.liveStats().heldBytes / 2 ** 20 });
  }
}
const wall = (performance.now() - t0) / 1000;
const browserCpu = chromiumCpuSeconds() - cpuAtWarmup;
await new Promise((r) => setTimeout(r, 300));
const end = (await page.evaluate(() => {
  const l = (window as unknown as { __pam: { live: { frames: number; skipped: number; latencyMs: number[]; consumeTotalMs: number; renderTotalMs: number } } }).__pam.live;
  return { frames: l.frames, skipped: l.skipped, latencyMs: [...l.latencyMs], consume: l.consumeTotalMs, render: l.renderTotalMs };
})) as { frames: number; skipped: number; latencyMs: number[]; consume: number; render: number };
const live = server.liveStats();
await page.screenshot({ path: join(tmp, 'live.png') });
stalled.terminate();
await browser.close();
await server.close();
store.close();
rmSync(tmp, { recursive: true, force: true });

const rendered = end.frames - (statsAtWarmup?.frames ?? 0);
const consumeMs = (end.consume - (statsAtWarmup?.consume ?? 0)) / Math.max(1, rendered);
const renderMs = (end.render - (statsAtWarmup?.render ?? 0)) / Math.max(1, rendered);
const fps = rendered / SECONDS;
const lat = end.latencyMs;
const p50 = median(lat);
const steady = mem.filter((m) => m.t > WARMUP);
const rssMin = Math.min(...steady.map((m) => m.rss));
const rssMax = Math.max(...steady.map((m) => m.rss));
const heldMax = Math.max(...mem.map((m) => m.held));
const buffersMax = Math.max(...steady.map((m) => m.buffers));
const heapMax = Math.max(...steady.map((m) => m.heap));
const frameMiB = live.lastFrameBytes / 2 ** 20;

printTable([
  { metric: 'WebGL renderer', value: renderer.slice(0, 60) },
  { metric: 'points per frame', value: POINTS },
  { metric: 'publish rate (Hz)', value: HZ },
  { metric: 'frames rendered per s', value: fps },
  { metric: 'latency p50 (ms)', value: p50 },
  { metric: 'latency p95 (ms)', value: percentile(lat, 0.95) },
  { metric: 'latency max (ms)', value: Math.max(...lat) },
  { metric: 'browser: decode+copy (ms/frame)', value: consumeMs },
  { metric: 'browser: draw to pixels (ms/frame)', value: renderMs },
  { metric: 'browser CPU per drawn frame (ms, all processes)', value: (1000 * browserCpu) / Math.max(1, rendered) },
  { metric: 'frames skipped (latest wins)', value: end.skipped - (statsAtWarmup?.skipped ?? 0) },
  { metric: 'frame size (MiB)', value: frameMiB },
  { metric: 'publish cost (ms/frame)', value: publishMs / total },
  { metric: 'server rss min..max (MiB)', value: `${rssMin.toFixed(0)}..${rssMax.toFixed(0)}` },
  { metric: 'server heap / array buffers max (MiB)', value: `${heapMax.toFixed(0)} / ${buffersMax.toFixed(0)}` },
  { metric: 'held for clients max (MiB)', value: heldMax },
  { metric: 'stalled client: frames dropped', value: live.dropped },
]);

const path = writeBenchResult('live', {
  name: 'live',
  workload: `${POINTS} xyz+rgb points/frame published at ${HZ} Hz for ${SECONDS} s to the live view in headless Chromium (1280×720, ${CANDIDATES} candidates), plus one stalled client`,
  ours_ms: +p50.toFixed(2),
  anchor: `goal: ${GOAL_MS} ms end-to-end at 30 Hz (issue 7)`,
  anchor_ms: GOAL_MS,
  ratio: +(p50 / GOAL_MS).toFixed(3),
  backend: `ws binary frames + three.js WebGL2 on ${renderer} (software, no GPU)`,
  machine: machineDescription(),
  points: POINTS,
  publish_hz: HZ,
  seconds: SECONDS,
  fps: +fps.toFixed(2),
  latency_ms: { p50: +p50.toFixed(1), p95: +percentile(lat, 0.95).toFixed(1), max: Math.max(...lat), samples: lat.length },
  browser_consume_ms_per_frame: +consumeMs.toFixed(2),
  browser_render_ms_per_frame: +renderMs.toFixed(2),
  browser_cpu_ms_per_frame: +((1000 * browserCpu) / Math.max(1, rendered)).toFixed(1),
  frames_skipped: end.skipped - (statsAtWarmup?.skipped ?? 0),
  frame_mib: +frameMiB.toFixed(3),
  publish_ms_per_frame: +(publishMs / total).toFixed(3),
  server_rss_mib: { min: +rssMin.toFixed(1), max: +rssMax.toFixed(1) },
  server_heap_max_mib: +heapMax.toFixed(1),
  server_array_buffers_max_mib: +buffersMax.toFixed(1),
  held_for_clients_max_mib: +heldMax.toFixed(2),
  stalled_client_dropped: live.dropped,
  wall_s: +wall.toFixed(1),
  load_average_1m: +(await import('node:os')).loadavg()[0]!.toFixed(2),
});
console.log(`wrote ${path}`);
