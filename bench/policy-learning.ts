// `npm run bench -- policy-learning --data DIR --policy DIR [--episodes N] [--seed S] [--agents policy,expert,random]`:
// what a trained policy learned. Success rate in sim on seeds it never saw, next to the scripted expert and random,
// and candidate diversity: mean pairwise distance of 8 policy candidates vs that of the expert's acceptable
// actions, on the demonstration states held out from training, and how far candidates land from the nearest
// acceptable action (pick and place, metres) next to an uninformed guess (a random object point, a place near it). Writes bench/results/policy-learning.json.
import { basename, resolve } from 'node:path';
import os from 'node:os';
import { createWorld } from '../sim/index.ts';
import { readDemonstrations } from '../sim/collect-format.ts';
import type { Primitive } from '../src/core/primitive.ts';
import { Rng } from '../src/core/rng.ts';
import { TaskNameSchema } from '../src/core/task.ts';
import { initBackend } from '../src/nn/backend.ts';
import { loadPolicy } from '../src/policy/checkpoint.ts';
import { PolicyProposer } from '../src/policy/proposer.ts';
import { loadDecider } from '../src/stack/decider.ts';
import { deciderSpecFor } from '../src/stack/decider-spec.ts';
import { rollout } from '../src/stack/rollout.ts';
import { readPolicyCheckpoint } from '../src/policy/checkpoint.ts';
import { splitStates, TrainConfigSchema } from '../src/policy/trainer.ts';
import { machineDescription, printTable, writeBenchResult } from './_common.ts';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

/** Mean pairwise distance of 6-number actions (pick and place points concatenated), metres. */
function meanPairwise(ps: readonly Primitive[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ps.length; i++)
    for (let j = i + 1; j < ps.length; j++) {
      const a = ps[i]!;
      const b = ps[j]!;
      s += Math.hypot(a.a[0] - b.a[0], a.a[1] - b.a[1], a.a[2] - b.a[2], a.b[0] - b.b[0], a.b[1] - b.b[1], a.b[2] - b.b[2]);
      n++;
    }
  return n ? s / n : 0;
}

async function main(): Promise<void> {
  const data = arg('data');
  const policyDir = arg('policy');
  const episodes = Number(arg('episodes', '10'));
  const seed = Number(arg('seed', '0'));
  const agents = arg('agents', 'policy,expert,random').split(',');
  const ckpt = readPolicyCheckpoint(policyDir);
  const task = TaskNameSchema.parse(ckpt.task ?? 'rope-circle');
  const demos = readDemonstrations(data);
  const trainSeeds = new Set(demos.steps.map((s) => s.seed));

  // diversity on the held-out demonstration states (the trainer's own split)
  await initBackend({ log: null });
  const policy = loadPolicy(policyDir, { trainable: false });
  const proposer = new PolicyProposer(policy.model, policy.processor);
  const cfg = TrainConfigSchema.parse(ckpt.training?.config ?? {});
  const { val } = splitStates(demos.steps.length, cfg.valFraction, cfg.seed);
  const states = val.length ? val : demos.steps.map((_, i) => i);
  let candSpread = 0;
  let expertSpread = 0;
  let pickOnRope = 0;
  let randomToExpert = 0;
  let nCand = 0;
  const rng = new Rng(seed + 77);
  for (const i of states) {
    const s = demos.steps[i]!;
    const { primitives } = proposer.sample({ points: s.cloud, frame: 'table', stamp: 0 }, 8, 1000 + i);
    candSpread += meanPairwise(primitives);
    expertSpread += meanPairwise(s.actions);
    // how far each candidate is from the nearest acceptable action (metres)
    for (const p of primitives) {
      pickOnRope += Math.min(...s.actions.map((a) => Math.hypot(a.a[0] - p.a[0], a.a[1] - p.a[1], a.b[0] - p.b[0], a.b[1] - p.b[1])));
      // the same distance for an uninformed guess: a random object point, a place within ±0.15 m of it
      const k = rng.int(s.cloud.length / 3);
      const [px, py] = [s.cloud[k * 3]!, s.cloud[k * 3 + 1]!];
      const [bx, by] = [px + rng.uniform(-0.15, 0.15), py + rng.uniform(-0.15, 0.15)];
      randomToExpert += Math.min(...s.actions.map((a) => Math.hypot(a.a[0] - px, a.a[1] - py, a.b[0] - bx, a.b[1] - by)));
      nCand++;
    }
  }
  const diversity = {
    states: states.length,
    candidates_mean_pairwise_m: +(candSpread / states.length).toFixed(4),
    expert_actions_mean_pairwise_m: +(expertSpread / states.length).toFixed(4),
    candidate_to_nearest_expert_action_m: +(pickOnRope / nCand).toFixed(4),
    random_object_point_to_nearest_expert_action_m: +(randomToExpert / nCand).toFixed(4),
  };

  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown> = {};
  const unseen = Array.from({ length: episodes }, (_, i) => seed + i).filter((s) => trainSeeds.has(s));
  if (unseen.length) throw new Error(`--seed ${seed}: seeds ${unseen.join(', ')} were used for the demonstrations; pick unseen ones`);
  for (const name of agents) {
    // each row through the product's decider: the first safe of 8 candidates
    const a = await loadDecider(deciderSpecFor(name === 'policy' ? policyDir : name, { select: 'first', candidates: 8 }));
    const world = await createWorld(task);
    const t0 = performance.now();
    try {
      const { result } = await rollout(world, a, { episodes, seed });
      results[name] = result;
      rows.push({ agent: a.name, success_rate: result.success_rate, mean_steps: result.mean_steps, iou: result.metrics.iou ?? NaN, s_per_episode: (performance.now() - t0) / 1000 / episodes });
    } finally {
      world.dispose();
      a.dispose();
    }
  }
  policy.model.dispose();
  const out = {
    name: 'policy-learning',
    workload: task,
    policy: basename(resolve(policyDir)),
    training: {
      demonstrations: data,
      episodes: demos.meta.episodes,
      states: demos.steps.length,
      actions: demos.steps.reduce((a, s) => a + s.actions.length, 0),
      command: ckpt.command,
      epochs: ckpt.training?.epoch ?? null,
      final: ckpt.training?.history.at(-1) ?? null,
    },
    eval: { episodes, seeds: `${seed}..${seed + episodes - 1}`, results },
    diversity,
    machine: machineDescription(),
    load_average: os.loadavg().map((x) => +x.toFixed(2)),
  };
  writeBenchResult('policy-learning', out as never);
  printTable(rows);
  printTable([diversity as unknown as Record<string, number>]);
}

await main();
