import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { EpisodeRecorder, episodeFileName, readBagEpisodes, recordEpisode, Ros2BagFile, type RecordedStep } from '../../src/record/index.ts';

let dir: string;
let world: World;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pamstack-episode-'));
  world = await createWorld('rope-circle');
});
afterAll(async () => {
  world?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A short sim episode: the expert's actions as candidates, scored, the best executed. */
async function simSteps(n: number): Promise<RecordedStep[]> {
  world.reset(11);
  const rng = new Rng(5);
  const steps: RecordedStep[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const cloud = world.observe({ seed: i });
    const prims = world.expertActions(4, rng);
    const candidates = prims.map((p, k) => ({ primitive: p, score: 1 - 0.25 * k, safe: true }));
    const chosen = 0;
    const r = await world.execute(prims[chosen]!);
    steps.push({ t, cloud, candidates, chosen, executed: prims[chosen]!, metrics: world.metrics(), success: world.success() });
    t += r.duration;
  }
  return steps;
}

describe('episode bags', () => {
  it('a recorded sim episode reads back with every message', async () => {
    const steps = await simSteps(3);
    const info = { task: 'rope-circle', seed: 11, episode: 0, policy: 'expert', select: 'first' };
    const file = await recordEpisode(dir, info, steps, { startTime: 1_700_000_000 });
    expect(file).toBe(join(dir, episodeFileName(info)));
    expect(await readdir(dir)).toEqual(['rope-circle_seed11_ep000.mcap']);

    const bag = await Ros2BagFile.open(file);
    const counts = Object.fromEntries(bag.topics.map((t) => [t.topic, t.messageCount]));
    expect(counts).toEqual({ '/perception/object_cloud': 3, '/policy/candidates': 3, '/executor/executed': 3, '/episode/metrics': 3 });
    let n = 0;
    for await (const _ of bag.messages()) n++;
    expect(n).toBe(12);
    await bag.close();

    const [ep] = await readBagEpisodes(file);
    expect(ep!.info).toMatchObject({ task: 'rope-circle', seed: '11', episode: '0', policy: 'expert', steps: '3', distro: 'jazzy' });
    expect(ep!.steps).toHaveLength(3);
    ep!.steps.forEach((s, i) => {
      const want = steps[i]!;
      expect(s.decision).toBe(i);
      expect(s.stamp).toBeCloseTo(1_700_000_000 + want.t, 6);
      expect(s.cloud!.frame).toBe('table');
      expect(s.cloud!.points).toEqual(want.cloud.points.filter((v) => Number.isFinite(v)));
      expect(s.candidates).toEqual(want.candidates);
      expect(s.chosen).toBe(0);
      expect(s.executed).toEqual(want.executed);
      for (const [k, v] of Object.entries(want.metrics!)) expect(s.metrics[k as 'iou']).toBe(v);
      expect(s.success).toBe(want.success);
    });
  });

  it('a held step (no executed primitive) and an aborted episode', async () => {
    const steps = await simSteps(1);
    const rec = await EpisodeRecorder.open(join(dir, 'held.mcap'), { task: 'rope-circle', seed: 1, episode: 1 }, { startTime: 5 });
    await rec.step({ ...steps[0]!, chosen: null, executed: null });
    await rec.close();
    const [ep] = await readBagEpisodes(join(dir, 'held.mcap'));
    expect(ep!.steps[0]!.executed).toBeNull();
    expect(ep!.steps[0]!.chosen).toBeNull();

    const gone = await EpisodeRecorder.open(join(dir, 'gone.mcap'), { task: 'rope-circle', seed: 1, episode: 2 });
    await gone.step(steps[0]!);
    await gone.abort();
    expect((await readdir(dir)).filter((f) => f.startsWith('gone'))).toEqual([]);
  });

  it('refuses a cloud that is not in the table frame', async () => {
    const rec = await EpisodeRecorder.open(join(dir, 'obj.mcap'), { task: 'rope-circle', seed: 1, episode: 3 });
    const bad = { t: 0, cloud: { points: new Float32Array(3), frame: 'object' as const, stamp: 0 }, candidates: [], chosen: null, executed: null };
    await expect(rec.step(bad)).rejects.toThrow(/cloud\.frame: expected "table"/);
    await rec.abort();
  });
});
