// Test helpers: a promise-based WebSocket client for the protocol, synthetic queue items, temp stores.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { Candidate } from '../../src/core/episode.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import type { Item, ServerMessage } from '../../src/core/protocol.ts';
import { Rng } from '../../src/core/rng.ts';
import { makeCompareItem, makeRankItem, makeSegment } from '../../src/store/items.ts';
import type { Store } from '../../src/store/store.ts';

export const WORKSPACE = { min: [-0.4, -0.3, 0] as [number, number, number], max: [0.4, 0.3, 0.5] as [number, number, number] };

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'pam-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A rope-like cloud: n points along an arc with a little noise (table frame, metres). */
export function ropeCloud(n: number, rng: Rng, phase = 0): Float32Array {
  const p = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = i / Math.max(1, n - 1);
    const a = phase + u * Math.PI * 1.2;
    p[i * 3] = 0.18 * Math.cos(a) + rng.normal(0, 0.002);
    p[i * 3 + 1] = 0.12 * Math.sin(a) + rng.normal(0, 0.002);
    p[i * 3 + 2] = 0.005 + Math.abs(rng.normal(0, 0.001));
  }
  return p;
}

function candidates(k: number, rng: Rng): Candidate[] {
  return Array.from({ length: k }, () => ({
    primitive: {
      kind: 'pick_place' as const,
      a: [rng.uniform(-0.2, 0.2), rng.uniform(-0.15, 0.15), 0.006] as [number, number, number],
      b: [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 0.006] as [number, number, number],
    },
  }));
}

/** Adds `n` synthetic rank items (6 candidates each); returns their ids. */
export function addRankItems(store: Store, n: number, opts: { minAnnotations?: number; points?: number; seed?: number; prefix?: string } = {}): string[] {
  const rng = new Rng(opts.seed ?? 1);
  const ids: string[] = [];
  store.transaction(() => {
    for (let i = 0; i < n; i++) {
      const item = makeRankItem({
        stateId: `${opts.prefix ?? 'state'}-${i}`,
        task: 'rope-circle',
        primitive: 'pick_place',
        cloud: makeCloud(ropeCloud(opts.points ?? 64, rng, i * 0.1), 'table'),
        candidates: candidates(6, rng),
        workspace: WORKSPACE,
      });
      ids.push(store.addItem(item, { minAnnotations: opts.minAnnotations ?? 3 }));
    }
  });
  return ids;
}

/** Adds `n` synthetic compare items (two 8-frame clips each); returns their ids. */
export function addCompareItems(store: Store, n: number, opts: { minAnnotations?: number; seed?: number } = {}): string[] {
  const rng = new Rng(opts.seed ?? 2);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const seg = (name: string, speed: number) =>
      makeSegment({
        id: `seg-${i}-${name}`,
        task: 'rope-circle',
        frames: Array.from({ length: 8 }, (_, k) => ({
          t: k * 0.25,
          cloud: makeCloud(ropeCloud(96, rng, k * speed), 'table'),
          gripper: [0.1 * Math.cos(k * speed), 0.1 * Math.sin(k * speed), 0.05] as [number, number, number],
          grasp: k > 1 && k < 6,
        })),
      });
    ids.push(store.addItem(makeCompareItem({ left: seg('a', 0.1), right: seg('b', -0.15), workspace: WORKSPACE }), { minAnnotations: opts.minAnnotations ?? 3 }));
  }
  return ids;
}

/** A protocol client over `ws` for tests: request() awaits the reply with the same id. */
export class TestClient {
  readonly ws: WebSocket;
  readonly received: (ServerMessage | Buffer)[] = [];
  #next = 1;
  #waiters = new Map<number, { resolve: (m: ServerMessage) => void; reject: (e: Error) => void }>();
  #any: ((m: ServerMessage | Buffer) => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(url: string, opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws').replace(/\/?$/, '/ws'), opts);
    this.ws.on('message', (data, isBinary) => {
      const m: ServerMessage | Buffer = isBinary ? (data as Buffer) : (JSON.parse(String(data)) as ServerMessage);
      this.received.push(m);
      if (!Buffer.isBuffer(m) && 'id' in m && typeof m.id === 'number') {
        const w = this.#waiters.get(m.id);
        if (w) {
          this.#waiters.delete(m.id);
          w.resolve(m);
        }
      }
      const any = this.#any;
      this.#any = [];
      for (const f of any) f(m);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      // A request the server can no longer answer fails now rather than at its timeout.
      for (const w of this.#waiters.values()) w.reject(new Error(`connection closed (${code})`));
      this.#waiters.clear();
    });
    this.ws.on('error', () => {});
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Sends `msg` with a fresh id and resolves with the reply carrying that id. */
  request(msg: Record<string, unknown>, timeoutMs = 10_000): Promise<ServerMessage> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`no reply to ${JSON.stringify(msg).slice(0, 120)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** Resolves with the next message of any kind. */
  nextMessage(timeoutMs = 10_000): Promise<ServerMessage | Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message')), timeoutMs);
      this.#any.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  async auth(token: string): Promise<ServerMessage> {
    await this.opened();
    return this.request({ op: 'auth', token });
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Opens a client and authenticates; throws when refused. */
export async function connect(url: string, token: string, opts: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const c = new TestClient(url, opts);
  const m = await c.auth(token);
  if (m.op !== 'welcome') throw new Error(`auth refused: ${JSON.stringify(m)}`);
  return c;
}

const BIN = fileURLToPath(new URL('../../bin/pamstack.js', import.meta.url));

/** `pamstack serve --json` processes started by tests; kill the leftovers in afterAll. */
export const servers: ChildProcess[] = [];

/** Starts `pamstack serve --db DB --json` (API only, any port) and resolves with its URL once it listens. */
export function serveProcess(db: string, args: string[] = []): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--port', '0', '--no-web', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        const o = JSON.parse(line) as { url?: string };
        if (o.url) resolve({ url: o.url, child, stderr: () => err });
      } catch {
        /* not the JSON line */
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

/** What annotators sent and what the server acknowledged. */
export interface Ledger {
  /** clientId → itemId of submissions sent. */
  sent: Map<string, string>;
  /** clientIds the server acknowledged. */
  acked: Set<string>;
  /** `unavailable` replies seen (each followed by a resend). */
  unavailable: number;
}

export const newLedger = (): Ledger => ({ sent: new Map(), acked: new Set(), unavailable: 0 });

let cidSeq = 0;
/** A fresh client id; the annotator's name is its prefix (see annotatorOf). */
export const newCid = (who: string) => `${who}-${(++cidSeq).toString(36).padStart(8, '0')}`;
export const annotatorOf = (clientId: string) => clientId.slice(0, clientId.lastIndexOf('-'));

/**
 * Sends `msg` until it gets a reply other than `unavailable` (the database was away; the same message,
 * with its client id, is sent again after a pause), as the web app does. Rejects when the socket closes.
 */
export async function requestRetrying(c: TestClient, msg: Record<string, unknown>, ledger: Ledger, timeoutMs = 30_000): Promise<ServerMessage> {
  for (;;) {
    const r = await c.request(msg, timeoutMs);
    if (r.op !== 'error' || r.code !== 'unavailable') return r;
    ledger.unavailable++;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * One annotator: leases up to `batch` items, submits them all without waiting (several in flight),
 * then waits for the acks; stops when the queue is empty, `limit` is reached or the socket closes.
 */
export async function annotate(c: TestClient, who: string, ledger: Ledger, opts: { limit: number; batch: number }): Promise<void> {
  let done = 0;
  while (done < opts.limit && !c.closed) {
    let m: ServerMessage;
    try {
      m = await requestRetrying(c, { op: 'next', count: Math.min(opts.batch, opts.limit - done) }, ledger);
    } catch {
      return; // connection gone
    }
    if (m.op !== 'items' || m.items.length === 0) return;
    await Promise.all(
      m.items.map(async (it: Item) => {
        const clientId = newCid(who);
        ledger.sent.set(clientId, it.id);
        try {
          const r = await requestRetrying(c, { op: 'submit', clientId, itemId: it.id, answer: { kind: 'rank', groups: [[done % 6]] }, durationMs: 100 }, ledger);
          if (r.op === 'ack') ledger.acked.add(clientId);
        } catch {
          /* the socket closed before the ack: the answer may or may not be stored */
        }
      }),
    );
    done += m.items.length;
  }
}
