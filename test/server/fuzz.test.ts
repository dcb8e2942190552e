// Fuzz: ≥ 10,000 malformed frames, each answered with one error naming a field; the server stays up and usable.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClientMessageSchema } from '../../src/core/protocol.ts';
import { Rng } from '../../src/core/rng.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { addRankItems, connect, tempDir, TestClient } from './_helpers.ts';

const FRAMES = 10_500;

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let token: string;

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'));
  token = store.users.add('adm', 'admin').token;
  addRankItems(store, 3);
  server = await startServer({ port: 0, store, webRoot: false, log: () => {} });
});

afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

/** Valid messages of every op, to mutate. */
const VALID: Record<string, unknown>[] = [
  { op: 'ping', id: 1 },
  { op: 'next', id: 2, count: 2, have: ['a'], kinds: ['rank'] },
  { op: 'submit', id: 3, clientId: 'abcdefgh1234', itemId: 'rank:state-0', answer: { kind: 'rank', groups: [[1], [0, 2]], notComparable: [3] }, durationMs: 10 },
  { op: 'submit', id: 4, clientId: 'abcdefgh1235', itemId: 'x', answer: { kind: 'compare', label: 'tie' }, durationMs: 10 },
  { op: 'skip', id: 5, clientId: 'abcdefgh1236', itemId: 'rank:state-1' },
  { op: 'undo', id: 6, clientId: 'abcdefgh1237' },
  { op: 'progress', id: 7 },
  { op: 'live', id: 8, subscribe: false, ack: true },
  { op: 'live.ack', id: 13, seq: 5 },
  { op: 'teleop.check', id: 9, primitive: { kind: 'fling', a: [0, 0, 0], b: [0.1, 0.1, 0] } },
  { op: 'teleop.execute', id: 10, clientId: 'abcdefgh1238', primitive: { kind: 'sweep', a: [0, 0, 0], b: [0.1, 0.1, 0] } },
  { op: 'estop', id: 11, engaged: false },
  { op: 'stats', id: 12 },
  { op: 'disagreements', id: 14, includeSettled: true },
  { op: 'review.item', id: 15, itemId: 'rank:state-0' },
  { op: 'settle', id: 16, itemId: 'rank:state-0', label: { kind: 'rank', groups: [[1], [0]] }, note: 'why' },
];

const JUNK: unknown[] = [null, true, -1, 1.5, 2 ** 40, NaN, '', 'x'.repeat(300), [], {}, [1, 2], { a: 1 }, 'left', -0, 1e308];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

/** Paths to every value inside a message (to replace or delete). */
function paths(v: unknown, pre: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [pre];
  const out: (string | number)[][] = pre.length ? [pre] : [];
  for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...pre, Array.isArray(v) && /^\d+$/.test(k) ? Number(k) : k]));
  return out;
}

function mutate(msg: Record<string, unknown>, rng: Rng): unknown {
  const m = structuredClone(msg);
  const ps = paths(m);
  if (!ps.length) return pick(rng, JUNK);
  const p = pick(rng, ps);
  const parent = p.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], m) as Record<string | number, unknown>;
  const key = p[p.length - 1]!;
  switch (rng.int(4)) {
    case 0:
      parent[key] = pick(rng, JUNK);
      break;
    case 1:
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 2:
      (parent as Record<string, unknown>)[`extra${rng.int(9)}`] = pick(rng, JUNK);
      break;
    default:
      parent[key] = typeof parent[key] === 'string' ? 42 : 'a string';
  }
  return m;
}

/** One malformed frame: text that is not JSON, JSON that is not a message, or a mutated valid message. */
function malformed(rng: Rng): string | Buffer {
  const r = rng.next();
  if (r < 0.04) return Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256)));
  if (r < 0.12) {
    const s = JSON.stringify(pick(rng, VALID));
    return s.slice(0, rng.int(s.length)) + pick(rng, ['', '}', ']]', '\u0000', '\\', '"']);
  }
  if (r < 0.18) return JSON.stringify(pick(rng, JUNK));
  let m: unknown = pick(rng, VALID);
  for (let k = 1 + rng.int(3); k > 0 && m !== null && typeof m === 'object'; k--) m = mutate(m as Record<string, unknown>, rng);
  return JSON.stringify(m);
}

function isValid(frame: string | Buffer): boolean {
  if (Buffer.isBuffer(frame)) return false;
  try {
    return ClientMessageSchema.safeParse(JSON.parse(frame)).success;
  } catch {
    return false;
  }
}

it(`answers each of ${FRAMES} malformed frames with an error and stays up`, async () => {
  const rng = new Rng(2024);
  const c = await connect(server.url, token);
  const replies: { op: string; code?: string; field?: string | null }[] = [];
  c.ws.on('message', (d, bin) => {
    if (!bin) replies.push(JSON.parse(String(d)));
  });
  let sent = 0;
  const kinds = { binary: 0, text: 0 };
  while (sent < FRAMES) {
    const batch = Math.min(500, FRAMES - sent);
    const target = replies.length + batch;
    for (let i = 0; i < batch; ) {
      const f = malformed(rng);
      if (isValid(f)) continue;
      c.ws.send(f);
      Buffer.isBuffer(f) ? kinds.binary++ : kinds.text++;
      i++;
    }
    sent += batch;
    const t0 = Date.now();
    while (replies.length < target) {
      if (Date.now() - t0 > 30_000) throw new Error(`only ${replies.length} replies to ${sent} frames`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  expect(replies.length).toBe(FRAMES);
  expect(replies.every((r) => r.op === 'error' && r.code === 'invalid' && typeof r.field === 'string' && r.field.length > 0)).toBe(true);
  expect(kinds.binary).toBeGreaterThan(100);
  expect(c.closed).toBeNull();
  // Still usable on this connection and for new ones, and nothing was written.
  expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
  const d = new TestClient(server.url);
  expect(await d.auth(token)).toMatchObject({ op: 'welcome' });
  expect(await d.request({ op: 'next', count: 1 })).toMatchObject({ op: 'items' });
  expect((await fetch(`${server.url}healthz`)).status).toBe(200);
  expect(store.db.prepare('SELECT count(*) AS n FROM answers').get()).toEqual({ n: 0 });
  c.close();
  d.close();
});

it('answers malformed frames on a connection that has not signed in', async () => {
  const rng = new Rng(7);
  const c = new TestClient(server.url);
  await c.opened();
  const replies: { op: string; code: string }[] = [];
  c.ws.on('message', (d) => replies.push(JSON.parse(String(d))));
  let n = 0;
  while (n < 500) {
    const f = malformed(rng);
    if (isValid(f)) continue;
    c.ws.send(f);
    n++;
  }
  while (replies.length < 500) await new Promise((r) => setTimeout(r, 5));
  // Shape errors come first (code invalid); well-formed non-auth ops are refused as unauthorized.
  expect(replies.every((r) => r.op === 'error' && (r.code === 'invalid' || r.code === 'unauthorized'))).toBe(true);
  expect(c.closed).toBeNull();
  c.close();
});
