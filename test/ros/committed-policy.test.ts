// The policy node on a committed policies/<task> folder decides exactly as `pamstack eval`'s decider:
// the node is started with the launch files' parameter file, the folder as its `policy` (the launch
// default), and a sim cloud crossing real CDR.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { EPISODE_TOPICS, markerArrayToCandidates, type MarkerArray } from '../../src/record/index.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';
import { InProcessGraph, InProcessPort, parseParamsYaml, SystemClock } from '../../ros/in-process.ts';
import { shutdownAll, startNodes } from '../../ros/main.ts';
import { loadPolicyDecider } from '../../ros/stages.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dir = join(repo, 'policies/rope-circle');

describe('policy node on the committed rope-circle folder', () => {
  it('makes the same decision as eval\'s decider on the same cloud and seed (the folder\'s N, reward and choice)', async () => {
    const world = await createWorld('rope-circle');
    const overrides = parseParamsYaml(readFileSync(join(repo, 'launch/params/sim.yaml'), 'utf8'));
    overrides.policy = { ...overrides.policy, policy: dir }; // what sim.launch.xml passes by default
    const graph = new InProcessGraph({ distro: 'humble', clock: new SystemClock() });
    const port = new InProcessPort(graph, overrides);
    const probe = port.createNode('probe');
    const arrays: MarkerArray[] = [];
    const { candidates: cTopic, objectCloud } = EPISODE_TOPICS;
    probe.createSubscription(cTopic.type, cTopic.name, cTopic.qos, (m) => arrays.push(m as MarkerArray));
    const nodes = await startNodes('policy', port, { createWorld, openStore: null });
    const evalDecider = await loadDecider(deciderSpecFor(dir));
    try {
      world.reset(5);
      const cloud = world.observe({ seed: 5 });
      probe.createPublisher(objectCloud.type, objectCloud.name, objectCloud.qos).publish(packPointCloud2({ ...cloud, stamp: probe.now() }));
      const deadline = Date.now() + 60_000;
      while (arrays.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(arrays.length, port.log.join('\n')).toBeGreaterThan(0);
      const fromNode = markerArrayToCandidates(arrays[0]!)!;
      // the node's first decision uses seed (param, 0) + 0; eval's decider gets the same cloud and seed
      const ws = { min: [-0.4, -0.3, 0.0] as [number, number, number], max: [0.4, 0.3, 0.5] as [number, number, number] };
      const d = await evalDecider.decide(cloud, { workspace: ws, kind: 'pick_place', seed: 0 });
      expect(evalDecider.spec.candidates).toBe(128);
      expect(fromNode.candidates).toHaveLength(128);
      expect(fromNode.chosen).toBe(d.chosen);
      expect(fromNode.candidates.map((c) => c.primitive)).toEqual(d.candidates.map((c) => c.primitive));
      expect(fromNode.candidates.map((c) => c.score)).toEqual(d.candidates.map((c) => c.score));
      expect(port.log.some((l) => l.includes('"candidates":128') && l.includes('"reward":"robust"'))).toBe(true);
    } finally {
      evalDecider.dispose();
      await shutdownAll(nodes, port, 10_000);
      world.dispose();
    }
  }, 120_000);

  it('parameters override single spec keys explicitly, and the defaults keep the folder\'s', async () => {
    const keep = await loadPolicyDecider({ policy: dir, num_candidates: 0, lcb: -1, select: '' });
    const over = await loadPolicyDecider({ policy: dir, num_candidates: 16, lcb: 0, select: 'first' });
    try {
      expect(keep.spec).toMatchObject({ candidates: 128, lcb: 1, select: 'ras', reward: 'robust' });
      expect(over.spec).toMatchObject({ candidates: 16, lcb: 0, select: 'first', reward: 'none' });
    } finally {
      keep.dispose();
      over.dispose();
    }
    await expect(loadPolicyDecider({ policy: dir, num_candidates: 0, lcb: -1, select: 'best' })).rejects.toThrow(/select: expected ras, first, random/);
  });

  it('refuses a folder whose default.json is malformed, naming the file and the field', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const bad = mkdtempSync(`${tmpdir()}/pam-bad-policy-`);
    writeFileSync(`${bad}/default.json`, JSON.stringify({ method: 'x', policy: 'sl', select: 'best' }));
    await expect(loadPolicyDecider({ policy: bad, num_candidates: 0, lcb: -1, select: '' })).rejects.toThrow(/default\.json[\s\S]*select/);
  });
});
