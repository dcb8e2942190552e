// `npm run bench -- serve-replicas`: acknowledged answers per second from 50 simulated annotators (loopback
// WebSockets, each a next → submit loop) against `pamstack serve` on SQLite (one process) and on
// PostgreSQL with 1, 2 and 4 replica processes sharing one database, with the load average and the CPU
// seconds each side spent per answer.
//
// Flags (--name=value): --pg=URL (a server to use; else PAMSTACK_TEST_PG; else a throwaway cluster from
// .ci/pg-cluster with fsync on), --pg-port=N (the throwaway cluster's port), --annotators=50,
// --seconds=10 (measured, after --warmup=3), --items=6000, --min-annotations=3, --only=sqlite-1,pg-2.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import type { Candidate } from '../src/core/episode.ts';
import { makeCloud } from '../src/core/pointcloud.ts';
import type { Item } from '../src/core/protocol.ts';
import { Rng } from '../src/core/rng.ts';
import { makeRankItem } from '../src/store/items.ts';
import { openPreferenceStore } from '../src/store/store-api.ts';
import { machineDescription, median, printTable, writeBenchResult } from './_common.ts';
import { freshPgDatabase, spareTcpPort } from './_pg.ts';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: expected a number ≥ 0, received ${args.get(k)}`);
  return v;
};
const ANNOTATORS = num('annotators', 50);
const SECONDS = num('seconds', 10);
const WARMUP = num('warmup', 3);
const ITEMS = num('items', 6000);
const MIN_ANNOTATIONS = num('min-annotations', 3);
const WORKLOADS = ['sqlite-1', 'pg-1', 'pg-2', 'pg-4'] as const;
type Workload = (typeof WORKLOADS)[number];
const only = args.get('only')?.split(',') ?? [...WORKLOADS];
for (const w of only) if (!WORKLOADS.includes(w as Workload)) throw new Error(`--only: expected some of ${WORKLOADS.join(', ')}, received ${w}`);
const BIN = fileURLToPath(new URL('../bin/pamstack.js', import.meta.url));
const CLUSTER = fileURLToPath(new URL('../.ci/pg-cluster', import.meta.url));

/** Rank items like a robot's: a 64-point rope cloud and 6 candidates each. */
function makeItems(n: number): Item[] {
  const rng = new Rng(7);
  return Array.from({ length: n }, (_, i) => {
    const p = new Float32Array(64 * 3);
    for (let k = 0; k < 64; k++) {
      const a = (k / 63) * Math.PI * 1.2 + i * 0.01;
      p.set([0.18 * Math.cos(a), 0.12 * Math.sin(a), 0.005], k * 3);
    }
    const candidates: Candidate[] = Array.from({ length: 6 }, () => ({
      primitive: { kind: 'pick_place', a: [rng.uniform(-0.2, 0.2), rng.uniform(-0.15, 0.15), 0.006], b: [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 0.006] },
    }));
    return makeRankItem({ stateId: `bench-${i}`, task: 'rope-circle', primitive: 'pick_place', cloud: makeCloud(p, 'table'), candidates, workspace: { min: [-0.4, -0.3, 0], max: [0.4, 0.3, 0.5] } });
  });
}

/** CPU seconds (user + system) of the given processes so far, from /proc. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }
  return ticks / 100; // USER_HZ
}

/** The postmaster of a cluster directory and its children (backends, WAL writer, checkpointer …). */
function clusterPids(dir: string | null): number[] {
  if (!dir) return [];
  const main = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kids = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const s = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === main;
      } catch {
        return false;
      }
    });
  return [main, ...kids.map(Number)];
}

function serve(db: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--port', '0', '--no-web', '--json', '--min-watch', '0', '--gold-every', '0', '--max-per-address', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) resolve({ url: (JSON.parse(line) as { url: string }).url, child });
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
}

/** One simulated annotator: next (1 item) → submit → … until `stop()`; records ack times and cycle latencies. */
async function annotator(url: string, token: string, who: number, stop: () => boolean, acks: number[], cycles: { at: number; ms: number }[], errors: Map<string, number>, dry: () => void) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + 'ws');
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let id = 0;
  const waiting = new Map<number, (m: { op: string; code?: string; items?: { id: string }[] }) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; op: string };
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
  });
  const request = (msg: object) =>
    new Promise<{ op: string; code?: string; items?: { id: string }[] }>((resolve) => {
      const i = ++id;
      waiting.set(i, (m) => (waiting.delete(i), resolve(m)));
      ws.send(JSON.stringify({ ...msg, id: i }));
    });
  if ((await request({ op: 'auth', token })).op !== 'welcome') throw new Error('auth refused');
  let n = 0;
  while (!stop()) {
    const t0 = performance.now();
    const got = await request({ op: 'next', count: 1, kinds: ['rank'] });
    if (got.op !== 'items') {
      errors.set(got.code ?? got.op, (errors.get(got.code ?? got.op) ?? 0) + 1);
      continue;
    }
    if (!got.items!.length) {
      dry();
      break;
    }
    const item = got.items![0]!;
    const groups = [[n % 6], [(n + 1) % 6]];
    const ack = await request({ op: 'submit', clientId: `bench-${who}-${++n}-${randomBytes(3).toString('hex')}`, itemId: item.id, answer: { kind: 'rank', groups, notComparable: [], idealBeatsAll: false }, durationMs: 1000 });
    const t1 = performance.now();
    if (ack.op === 'ack') {
      acks.push(t1);
      cycles.push({ at: t1, ms: t1 - t0 });
    } else errors.set(ack.code ?? ack.op, (errors.get(ack.code ?? ack.op) ?? 0) + 1);
  }
  ws.close();
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

// ------------------------------------------------------------------------------------------- PostgreSQL

let pgAdmin = args.get('pg') ?? process.env.PAMSTACK_TEST_PG ?? '';
let clusterDir: string | null = null;
const throwaway = only.some((w) => w.startsWith('pg')) && !pgAdmin;
if (only.some((w) => w.startsWith('pg')) && !pgAdmin) {
  clusterDir = mkdtempSync(join(tmpdir(), 'pam-bench-pg-'));
  chmodSync(clusterDir, 0o755);
  const port = await spareTcpPort(num('pg-port', 0));
  // fsync on (PostgreSQL's default): every acknowledged answer is on disk, as SQLite's FULL sync is.
  pgAdmin = execFileSync(CLUSTER, ['start', clusterDir, String(port), 'durable'], { encoding: 'utf8' }).trim();
  console.error(`serve-replicas: started a throwaway PostgreSQL cluster (fsync on) at ${pgAdmin}`);
}
const cleanup = () => {
  if (!clusterDir) return;
  try {
    execFileSync(CLUSTER, ['stop', clusterDir]);
  } catch {
    /* already stopped */
  }
  rmSync(clusterDir, { recursive: true, force: true });
  clusterDir = null;
};
process.on('exit', cleanup);

let pgSettings: Record<string, string> = {};
if (pgAdmin) {
  const c = new pg.Client({ connectionString: pgAdmin });
  await c.connect();
  for (const k of ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers']) pgSettings[k] = (await c.query(`SHOW ${k}`)).rows[0][k];
  await c.end();
  if (pgSettings.fsync !== 'on') console.error(`serve-replicas: warning: ${pgAdmin.replace(/:[^:@/]*@/, ':***@')} runs with fsync=${pgSettings.fsync}: its figures are not durable ones`);
}

// ------------------------------------------------------------------------------------------- the runs

const items = makeItems(ITEMS);
interface Row {
  workload: Workload;
  replicas: number;
  answers_per_s: number;
  ms_per_answer: number;
  cycle_p50_ms: number;
  cycle_p95_ms: number;
  answers: number;
  errors: Record<string, number>;
  load1_mean: number;
  load1_end: number;
  cpu_ms_per_answer: { servers: number; postgres: number; clients: number };
  queue_ran_dry: boolean;
}
const rows: Row[] = [];

for (const w of only as Workload[]) {
  const replicas = Number(w.split('-')[1]);
  const tmp = w === 'sqlite-1' ? mkdtempSync(join(tmpdir(), 'pam-bench-serve-')) : null;
  const pgdb = tmp ? null : await freshPgDatabase(pgAdmin, 'pamstack_bench');
  const db = tmp ? join(tmp, 'db.sqlite') : pgdb!.url;
  const store = await openPreferenceStore(db);
  const tokens: string[] = [];
  for (let i = 0; i < ANNOTATORS; i++) tokens.push((await store.addUser(`ann${i}`, 'annotator')).token);
  await store.addItems(items.map((item) => ({ item, opts: { minAnnotations: MIN_ANNOTATIONS } })));
  await store.close();

  const servers = await Promise.all(Array.from({ length: replicas }, () => serve(db)));
  const acks: number[] = [];
  const cycles: { at: number; ms: number }[] = [];
  const errors = new Map<string, number>();
  let stopping = false;
  let ranDry = false;
  const loops = tokens.map((t, i) => annotator(servers[i % replicas]!.url, t, i, () => stopping, acks, cycles, errors, () => (ranDry = true)));
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const from = performance.now();
  const serverPids = servers.map((s) => s.child.pid!);
  const pgPids = pgdb ? clusterPids(clusterDir) : [];
  const cpu0 = { servers: cpuSeconds(serverPids), postgres: cpuSeconds(pgPids), clients: process.cpuUsage() };
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(os.loadavg()[0]!), 1000);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const to = performance.now();
  clearInterval(sampler);
  const c1 = process.cpuUsage(cpu0.clients);
  const cpu = { servers: cpuSeconds(serverPids) - cpu0.servers, postgres: cpuSeconds(pgPids) - cpu0.postgres, clients: (c1.user + c1.system) / 1e6 };
  stopping = true;
  await Promise.all(loops);
  const inWindow = acks.filter((t) => t >= from && t < to).length;
  const lat = cycles.filter((c) => c.at >= from && c.at < to).map((c) => c.ms);
  const dry = ranDry;
  for (const s of servers) s.child.kill('SIGTERM');
  await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await pgdb?.drop();
  const perAnswer = (s: number) => +((1000 * s) / Math.max(1, inWindow)).toFixed(3);
  const row: Row = {
    workload: w,
    replicas,
    answers_per_s: +(inWindow / ((to - from) / 1000)).toFixed(1),
    ms_per_answer: +((to - from) / Math.max(1, inWindow)).toFixed(3),
    cycle_p50_ms: +median(lat).toFixed(1),
    cycle_p95_ms: +percentile(lat, 0.95).toFixed(1),
    answers: inWindow,
    errors: Object.fromEntries(errors),
    load1_mean: +(loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)).toFixed(2),
    load1_end: +os.loadavg()[0]!.toFixed(2),
    cpu_ms_per_answer: { servers: perAnswer(cpu.servers), postgres: perAnswer(cpu.postgres), clients: perAnswer(cpu.clients) },
    queue_ran_dry: dry,
  };
  rows.push(row);
  console.error(`serve-replicas ${w}: ${row.answers_per_s} answers/s, next→ack p50 ${row.cycle_p50_ms} ms, load ${row.load1_mean}/${os.cpus().length}`);
  if (dry) console.error(`serve-replicas ${w}: the queue ran dry inside the window; raise --items`);
}
cleanup();

printTable(
  rows.map((r) => ({
    workload: r.workload,
    'answers/s': r.answers_per_s,
    'next→ack p50 ms': r.cycle_p50_ms,
    'p95 ms': r.cycle_p95_ms,
    'cpu ms/answer serve': r.cpu_ms_per_answer.servers,
    'cpu ms/answer pg': r.cpu_ms_per_answer.postgres,
    'cpu ms/answer clients': r.cpu_ms_per_answer.clients,
    'load1 mean': r.load1_mean,
    errors: Object.entries(r.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '-',
  })),
);

const anchor = rows.find((r) => r.workload === 'sqlite-1');
const head = rows.find((r) => r.workload === 'pg-1') ?? rows[0]!;
const path = writeBenchResult('serve-replicas', {
  name: 'serve-replicas',
  workload: `${ANNOTATORS} annotators over loopback WebSockets, each next(1) → submit → next …, ${SECONDS} s measured after ${WARMUP} s; ${ITEMS} rank items, ${MIN_ANNOTATIONS} answers each; ours = ${head.workload}`,
  ours_ms: head.ms_per_answer,
  anchor: anchor ? 'sqlite-1: one pamstack serve on SQLite (WAL, synchronous=FULL, group commit)' : 'none (sqlite-1 not run)',
  anchor_ms: anchor?.ms_per_answer ?? NaN,
  ratio: anchor ? +(head.ms_per_answer / anchor.ms_per_answer).toFixed(3) : NaN,
  backend: `pamstack serve processes (Node ${process.versions.node}); PostgreSQL ${pgSettings.server_version ?? '-'} fsync=${pgSettings.fsync ?? '-'} synchronous_commit=${pgSettings.synchronous_commit ?? '-'}${throwaway ? ' (a throwaway cluster made by .ci/pg-cluster)' : ''}; clients and servers share the machine's cores`,
  machine: machineDescription(),
  postgres: pgSettings,
  workloads: rows,
});
console.log(`wrote ${path}`);
