// Teleop through the server on the real simulated world (sim/): check, execute, e-stop latch, retries, busy.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Primitive } from '../../src/core/primitive.ts';
import { decodeLiveFrame } from '../../src/core/protocol.ts';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { connect, tempDir, type TestClient } from './_helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let world: World;
let op: TestClient;
let expert: Primitive[];
const estopEvents: boolean[] = [];

beforeAll(async () => {
  const sim = await import('../../sim/index.ts');
  world = await sim.createWorld('rope-circle');
  world.reset(3);
  expert = world.expertActions(3, new Rng(7));
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'));
  const token = store.users.add('op', 'operator').token;
  server = await startServer({ port: 0, store, world, webRoot: false, log: () => {}, onEstop: (e) => estopEvents.push(e) });
  op = await connect(server.url, token);
});

afterAll(async () => {
  op?.close();
  await server?.close();
  store?.close();
  world?.dispose();
  tmp?.cleanup();
});

const cloudKey = () => Array.from(world.observe({ seed: 1 }).points.slice(0, 30), (v) => v.toFixed(5)).join(',');

describe('teleop on the simulated world', () => {
  it('tells operators the world, its primitive and workspace on sign-in', () => {
    const st = op.received.find((m) => !Buffer.isBuffer(m) && m.op === 'teleop.state');
    expect(st).toMatchObject({ available: true, estop: false, task: 'rope-circle', primitive: 'pick_place', workspace: world.workspace });
  });

  it('checks a primitive without moving anything and names a violated bound', async () => {
    const before = cloudKey();
    expect(await op.request({ op: 'teleop.check', primitive: expert[0] })).toMatchObject({ op: 'teleop.verdict', ok: true, reason: null });
    const out = { ...expert[0]!, b: [world.workspace.max[0] + 0.2, 0, 0.01] };
    expect(await op.request({ op: 'teleop.check', primitive: out })).toMatchObject({ ok: false, reason: expect.stringMatching(/place.x = .* is above workspace max.x/) });
    expect(await op.request({ op: 'teleop.check', primitive: { ...expert[0]!, kind: 'sweep' } })).toMatchObject({ ok: false, reason: expect.stringMatching(/expected pick_place/) });
    expect(cloudKey()).toBe(before);
  });

  it('executes the primitive in sim, logs it, republishes the cloud, and never runs a retry twice', async () => {
    const before = cloudKey();
    await op.request({ op: 'live', subscribe: true });
    const frames: ArrayBuffer[] = [];
    op.ws.on('message', (d, bin) => bin && frames.push((d as Buffer).buffer.slice((d as Buffer).byteOffset, (d as Buffer).byteOffset + (d as Buffer).byteLength) as ArrayBuffer));
    const msg = { op: 'teleop.execute', clientId: 'teleop-run-0001', primitive: expert[0] };
    const r = await op.request(msg, 60_000);
    expect(r).toMatchObject({ op: 'teleop.result', clientId: 'teleop-run-0001' });
    expect((r as { duration: number }).duration).toBeGreaterThan(0);
    const after = cloudKey();
    expect(after).not.toBe(before);
    const row = store.db.prepare("SELECT status, primitive FROM teleop WHERE client_id = 'teleop-run-0001'").get() as { status: string; primitive: string };
    expect(row.status).toBe('executed');
    expect(JSON.parse(row.primitive)).toEqual(expert[0]);
    await new Promise((res) => setTimeout(res, 100));
    const last = decodeLiveFrame(frames.at(-1)!);
    expect(last.meta).toMatchObject({ source: 'teleop', action: expert[0] });
    // Same client id again: answered from the log, the world does not move.
    expect(await op.request(msg, 60_000)).toMatchObject({ op: 'teleop.result', clientId: 'teleop-run-0001' });
    expect(cloudKey()).toBe(after);
  });

  it('refuses what the world refuses and logs it', async () => {
    const bad = { ...expert[0]!, a: [world.workspace.min[0] - 0.3, 0, 0.01] };
    const r = await op.request({ op: 'teleop.execute', clientId: 'teleop-bad-0001', primitive: bad });
    expect(r).toMatchObject({ op: 'error', code: 'refused', field: 'primitive' });
    expect(store.db.prepare("SELECT status FROM teleop WHERE client_id = 'teleop-bad-0001'").get()).toEqual({ status: 'refused' });
  });

  it('runs one primitive at a time', async () => {
    world.reset(4);
    const [p, q] = world.expertActions(2, new Rng(8));
    const a = op.request({ op: 'teleop.execute', clientId: 'teleop-busy-001', primitive: p }, 60_000);
    const b = op.request({ op: 'teleop.execute', clientId: 'teleop-busy-002', primitive: q ?? p }, 60_000);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toMatchObject({ op: 'teleop.result' });
    expect(rb).toMatchObject({ op: 'error', code: 'busy' });
  });

  it('latches the e-stop until a reset, and tells the embedding', async () => {
    world.reset(5);
    const [p] = world.expertActions(1, new Rng(9));
    expect(await op.request({ op: 'estop', engaged: true })).toMatchObject({ op: 'teleop.state', estop: true, estopBy: 'op' });
    expect(server.teleop.estopped).toBe(true);
    const before = cloudKey();
    expect(await op.request({ op: 'teleop.execute', clientId: 'teleop-stop-001', primitive: p })).toMatchObject({ op: 'error', code: 'estop' });
    expect(cloudKey()).toBe(before);
    // Engaging again keeps the latch; only an explicit reset clears it.
    await op.request({ op: 'estop', engaged: true });
    expect(server.teleop.estopped).toBe(true);
    expect(await op.request({ op: 'estop', engaged: false })).toMatchObject({ estop: false });
    expect(await op.request({ op: 'teleop.execute', clientId: 'teleop-stop-002', primitive: p }, 60_000)).toMatchObject({ op: 'teleop.result' });
    expect(estopEvents).toEqual([true, false]);
  });

  it('latching the e-stop aborts a running primitive at the next control tick; the log says aborted', async () => {
    world.reset(6);
    const [p] = world.expertActions(1, new Rng(10));
    // At real time the motion takes seconds, as on a robot, so the latch lands while it runs.
    (world as unknown as { setExecuteDefaults(d: { pace?: number }): void }).setExecuteDefaults({ pace: 1 });
    try {
      const states: boolean[] = [];
      op.ws.on('message', (d, bin) => {
        if (!bin) {
          const m = JSON.parse(String(d)) as { op: string; busy?: boolean };
          if (m.op === 'teleop.state' && m.busy !== undefined) states.push(m.busy);
        }
      });
      const run = op.request({ op: 'teleop.execute', clientId: 'teleop-abort-01', primitive: p }, 60_000);
      await new Promise<void>((res) => {
        const t = setInterval(() => states.includes(true) && (clearInterval(t), res()), 10);
      });
      await new Promise((res) => setTimeout(res, 300));
      await op.request({ op: 'estop', engaged: true });
      const r = (await run) as { op: string; aborted: boolean; duration: number };
      expect(r).toMatchObject({ op: 'teleop.result', aborted: true });
      expect(r.duration).toBeGreaterThan(0.2);
      expect(r.duration).toBeLessThan(2);
      expect(store.db.prepare("SELECT status, reason FROM teleop WHERE client_id = 'teleop-abort-01'").get()).toEqual({ status: 'aborted', reason: 'e-stop' });
      // A retry is answered from the log (aborted), never moved again.
      expect(await op.request({ op: 'teleop.execute', clientId: 'teleop-abort-01', primitive: p })).toMatchObject({ op: 'teleop.result', aborted: true });
      await op.request({ op: 'estop', engaged: false });
    } finally {
      (world as unknown as { setExecuteDefaults(d: object): void }).setExecuteDefaults({});
    }
  });
});
