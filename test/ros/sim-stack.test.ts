// The sim launch in one process: sim bridge (MuJoCo) → perception → policy → safety → executor → sim
// bridge, with the preference bridge recording a bag and rank items. Every message crosses real CDR.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { readBagEpisodes } from '../../src/record/index.ts';
import { InProcessGraph, InProcessPort, parseParamsYaml, SystemClock } from '../../ros/in-process.ts';
import { shutdownAll, startNodes } from '../../ros/main.ts';

const repo = new URL('../../', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pamstack-simstack-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sim stack (sim.launch.xml graph, in-process)', () => {
  it('runs decisions end to end, records a bag that reads back, and queues rank items', async () => {
    const overrides = parseParamsYaml(readFileSync(join(repo, 'launch/params/sim.yaml'), 'utf8'));
    overrides.policy = { ...overrides.policy, policy: 'expert', num_candidates: 4 };
    overrides.preference_bridge = { ...overrides.preference_bridge, output_dir: join(dir, 'bags'), db: join(dir, 'store.db'), min_annotations: 1 };
    overrides.sim_bridge = { ...overrides.sim_bridge, camera_rate: 10 };
    const graph = new InProcessGraph({ distro: 'humble', clock: new SystemClock() });
    const port = new InProcessPort(graph, overrides);
    const nodes = await startNodes('sim_stack', port, { createWorld, openStore: null });
    const executed: number[] = [];
    const unsub = graph.tap((m) => {
      if (m.topic === '/executor/executed') executed.push(m.bytes.length);
    });
    const deadline = Date.now() + 60_000;
    while (executed.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    unsub();
    expect(await shutdownAll(nodes, port, 10_000)).toBe(true);
    expect(graph.callbackErrors).toEqual([]);
    expect(executed.length).toBeGreaterThanOrEqual(3);
    expect(port.log.filter((l) => l.startsWith('[ERROR]'))).toEqual([]);

    const files = readdirSync(join(dir, 'bags'));
    expect(files.length).toBeGreaterThanOrEqual(1); // a new bag per episode (the expert may finish one)
    const steps = [];
    for (const f of files.sort()) for (const ep of await readBagEpisodes(join(dir, 'bags', f))) steps.push(...ep.steps);
    const done = steps.filter((s) => s.executed);
    // Every decision is in a bag, in order, from the first (the recorder starts before the robot).
    expect(steps.map((s) => s.decision)).toEqual(steps.map((_, i) => i));
    expect(done.length).toBeGreaterThanOrEqual(3);
    for (const s of done) {
      expect(s.candidates.length).toBeGreaterThanOrEqual(1);
      expect(s.candidates.length).toBeLessThanOrEqual(4);
      expect(s.executed).toEqual(s.candidates[s.chosen!]!.primitive);
      expect(s.cloud!.points.length).toBeGreaterThan(0);
    }
    expect(done.some((s) => Object.keys(s.metrics).length > 0)).toBe(true);

    // Rank items went into the annotation store (src/store), one per decision with 2+ candidates.
    const items = (nodes.find((n) => n.node.name === 'preference_bridge') as unknown as { items: () => number }).items();
    expect(items).toBeGreaterThanOrEqual(3);
    expect(items).toBeLessThanOrEqual(steps.filter((s) => s.candidates.length >= 2).length);
  }, 120_000);
});
