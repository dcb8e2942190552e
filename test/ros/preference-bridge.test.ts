// The preference bridge pushing rank items to a real `pamstack serve` (push_url, token_file): ids unique
// across cells and restarts, items queued while the server is down and delivered once, bad parameters named.
// Messages cross the in-process port as CDR (jazzy definitions), as in the node contract.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import type { Candidate } from '../../src/core/episode.ts';
import type { RankItem } from '../../src/core/protocol.ts';
import { candidatesToMarkerArray, QOS, RosMessageCodec, type PointCloud2 } from '../../src/record/index.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { InProcessGraph, InProcessPort, ManualClock, type ParamOverrides } from '../../ros/in-process.ts';
import { startPreferenceBridge } from '../../ros/nodes/preference-bridge.ts';
import { tempDir } from '../server/_helpers.ts';

const codec = RosMessageCodec.for('jazzy');
const POINTS = [0.1, 0.1, 0.01, -0.1, 0.05, 0.02, 0, 0, 0.03];
const CANDIDATES: Candidate[] = [0, 1, 2].map((i) => ({ primitive: { kind: 'pick_place', a: [0.01 * i, 0, 0.01], b: [0.1, 0.02 * i, 0.01] } }));

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let tokenFile: string;

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  tokenFile = join(tmp.dir, 'robot.token');
  writeFileSync(tokenFile, `${store.users.add('cells', 'robot').token}\n`, { mode: 0o600 });
  server = await startServer({ port: 0, store, webRoot: false, log: () => {} });
});
afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

function graphWith(overrides: ParamOverrides) {
  const graph = new InProcessGraph({ distro: 'jazzy', clock: new ManualClock() });
  return { graph, port: new InProcessPort(graph, overrides) };
}

/** Publishes one decision (cloud, then its candidates with the cloud's stamp) into `namespace` and delivers it. */
async function decide(h: ReturnType<typeof graphWith>, namespace: string, decision: number): Promise<void> {
  const probe = h.port.createNode(`probe_${decision}`, namespace);
  const stamp = probe.now();
  probe.createPublisher('sensor_msgs/msg/PointCloud2', 'perception/object_cloud', QOS.sensorData).publish(packPointCloud2({ points: new Float32Array(POINTS), frame: 'table', stamp }) as PointCloud2);
  await h.graph.idle();
  probe.createPublisher('visualization_msgs/msg/MarkerArray', 'policy/candidates', QOS.default).publish(candidatesToMarkerArray(codec, CANDIDATES, 0, { decision, stamp }));
  await h.graph.idle();
  expect(h.graph.callbackErrors).toEqual([]);
}

const pushed = () => (store.db.prepare('SELECT payload FROM items ORDER BY seq').all() as { payload: string }[]).map((r) => JSON.parse(r.payload) as RankItem);
const bridgeParams = (extra: Record<string, unknown> = {}) => ({ output_dir: '', push_url: server.url, token_file: tokenFile, ...extra });

describe('preference bridge with push_url', () => {
  it('pushes each decision as a rank item; ids differ across cells and restarts of one cell', async () => {
    const before = pushed().length;
    const h = graphWith({ '/preference_bridge': bridgeParams({ cell: 'cell7' }), '/cell8/preference_bridge': bridgeParams() });
    const a = await startPreferenceBridge(h.port, null);
    const b = await startPreferenceBridge(h.port, null, 'preference_bridge', 'cell8');
    await decide(h, '', 0);
    await decide(h, 'cell8', 0);
    await a.shutdown();
    await b.shutdown();
    // The same cell again (a restart), whose policy numbers its decisions from 0 again.
    const again = await startPreferenceBridge(h.port, null);
    await decide(h, '', 0);
    await again.shutdown();
    expect(h.port.log.filter((l) => l.startsWith('[ERROR]') || l.startsWith('[WARN]'))).toEqual([]);

    const items = pushed().slice(before);
    expect(items.map((i) => i.id)).toEqual([
      expect.stringMatching(/^rank:cell7\/[0-9a-f]{12}\/0:0$/),
      expect.stringMatching(/^rank:cell8\/[0-9a-f]{12}\/0:0$/),
      expect.stringMatching(/^rank:cell7\/[0-9a-f]{12}\/0:0$/),
    ]);
    expect(new Set(items.map((i) => i.id)).size).toBe(3);
    for (const it of items) {
      expect(it.stateId).toBe(it.id.slice('rank:'.length));
      expect(it.candidates.map((c) => c.primitive)).toEqual(CANDIDATES.map((c) => c.primitive));
      expect(it.cloud.n).toBe(3);
    }
  });

  it('queues while the server is down and delivers once when it is back (at the latest on shutdown)', async () => {
    const s2 = new Store(join(tmp.dir, 'down.sqlite'), { goldEvery: 0 });
    const f = join(tmp.dir, 'down.token');
    writeFileSync(f, s2.users.add('cell9', 'robot').token);
    let srv = await startServer({ port: 0, store: s2, webRoot: false, log: () => {} });
    const url = srv.url;
    await srv.close();
    const h = graphWith({ '/preference_bridge': { output_dir: '', push_url: url, token_file: f, cell: 'cell9' } });
    const bridge = await startPreferenceBridge(h.port, null);
    await decide(h, '', 4);
    while (!h.port.log.some((l) => l.includes('unreachable (ECONNREFUSED)'))) await new Promise((r) => setTimeout(r, 20));
    expect(h.port.log.find((l) => l.includes('unreachable'))).toMatch(/^\[WARN\] .*push: http:\/\/127\.0\.0\.1:\d+\/api\/items unreachable \(ECONNREFUSED\); retrying/);
    srv = await startServer({ port: srv.port, store: s2, webRoot: false, log: () => {} });
    try {
      await bridge.shutdown();
      expect(h.port.log.filter((l) => l.startsWith('[ERROR]'))).toEqual([]);
      expect((s2.db.prepare('SELECT id FROM items').all() as { id: string }[]).map((r) => r.id)).toEqual([expect.stringMatching(/^rank:cell9\/[0-9a-f]{12}\/0:4$/)]);
    } finally {
      await srv.close();
      s2.close();
    }
  });

  it.each([
    ['push_url without token_file', { push_url: 'http://127.0.0.1:8080/' }, /^preference_bridge: parameter token_file: needed with push_url/],
    ['token_file without push_url', { token_file: '/run/secrets/robot.token' }, /^preference_bridge: parameter token_file: only used with push_url/],
    ['a missing token file', { push_url: 'http://127.0.0.1:8080/', token_file: '/nonexistent/robot.token' }, /^preference_bridge: parameter token_file: expected a readable file holding a token .*\(ENOENT\)/],
    ['a URL that is not http(s)', { push_url: 'ws://127.0.0.1:8080/', token_file: '/nonexistent' }, /^preference_bridge: parameter push_url: expected an http:\/\/ or https:\/\/ URL/],
    ['a cell name with a space', { cell: 'cell 7' }, /^preference_bridge: parameter cell: expected 1–64 characters of A–Z a–z 0–9 _ \. -, received "cell 7"/],
  ])('refuses %s, naming the parameter', async (_what, params, message) => {
    const h = graphWith({ '/preference_bridge': { output_dir: '', ...params } });
    await expect(startPreferenceBridge(h.port, null)).rejects.toThrow(message);
  });
});
