// The browser's connection (src/web/net.ts) in Node, against a scripted server: an answer the server
// could not store (`unavailable`, its database away) is resent with the same client id until acknowledged;
// a teleop command answered `unavailable` is not repeated.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '../../src/core/protocol.ts';
import { Connection } from '../../src/web/net.ts';

beforeAll(() => {
  // What the page has and Node 20 lacks: the WebSocket global (the ws package speaks the same
  // onopen/onmessage/onclose API) and localStorage (the outbox).
  const g = globalThis as Record<string, unknown>;
  g.WebSocket ??= WebSocket;
  const items = new Map<string, string>();
  g.localStorage ??= {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
});

const open: { wss: WebSocketServer; conn: Connection }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.conn.close();
    for (const c of o.wss.clients) c.terminate();
    await new Promise((r) => o.wss.close(r));
  }
});

/** A server that welcomes any token and answers each request with `reply(msg, nthOfItsClientId)`. */
async function scripted(reply: (m: Record<string, unknown>, n: number) => Record<string, unknown>) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const seen: Record<string, unknown>[] = [];
  const counts = new Map<string, number>();
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      if (m.op === 'auth') return ws.send(JSON.stringify({ op: 'welcome', id: m.id, protocol: PROTOCOL_VERSION, user: { name: 'ann', role: 'annotator' } }));
      seen.push(m);
      const key = String(m.clientId ?? m.op);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      ws.send(JSON.stringify({ id: m.id, ...reply(m, n) }));
    });
  });
  const conn = new Connection(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/ws`, 'pam_test');
  open.push({ wss, conn });
  await conn.connect();
  return { conn, seen };
}

const unavailable = { op: 'error', code: 'unavailable', field: null, message: 'the database is unreachable right now (57P01); send it again' };

describe('Connection and an unavailable database', () => {
  it('resends a submission answered unavailable, with the same client id, until it is acknowledged', async () => {
    const { conn, seen } = await scripted((m, n) => (n < 3 ? unavailable : { op: 'ack', clientId: m.clientId, answerId: 7, duplicate: n > 1 }));
    const ack = await conn.durable({ op: 'submit', clientId: 'c-0001-abcdef', itemId: 'rank:s0', answer: { kind: 'compare', label: 'left' }, durationMs: 10 });
    expect(ack).toMatchObject({ op: 'ack', clientId: 'c-0001-abcdef', answerId: 7 });
    expect(seen.map((m) => [m.op, m.clientId])).toEqual([
      ['submit', 'c-0001-abcdef'],
      ['submit', 'c-0001-abcdef'],
      ['submit', 'c-0001-abcdef'],
    ]);
  });

  it('does not repeat a teleop command answered unavailable: the operator sees the error', async () => {
    const { conn, seen } = await scripted(() => ({ ...unavailable, message: 'no world or robot is attached to this server' }));
    await expect(conn.durable({ op: 'teleop.execute', clientId: 't-0001-abcdef', primitive: { kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] } })).rejects.toThrow(
      /no world or robot is attached/,
    );
    await new Promise((r) => setTimeout(r, 700));
    expect(seen).toHaveLength(1);
  });
});
