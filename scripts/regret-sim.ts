// Regret vs partial return on rope-circle's sim states (Knox et al.'s comparison, on the sim).
// collect: SL candidates tried from saved states, V* by the scripted expert's rollouts (sim-regret.ts).
// fit: both teachers' labels, both preference models, held-out log-likelihood; saves Â* (the partial-return
// model fitted to regret labels) as a reward folder that RAS loads as a bt reward.
// Run: npx tsx scripts/regret-sim.ts collect --states 120 --out runs/regret
//      npx tsx scripts/regret-sim.ts fit --data runs/regret --pairs 4000 --save runs/regret/advantage
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeCloud } from '../src/core/pointcloud.ts';
import { Rng } from '../src/core/rng.ts';
import { initBackend } from '../src/nn/backend.ts';
import { loadPolicy } from '../src/policy/checkpoint.ts';
import { PolicyProposer } from '../src/policy/proposer.ts';
import { DEFAULT_REWARD_FEATURES } from '../src/preference/features.ts';
import { saveRewardModel } from '../src/preference/reward-io.ts';
import { trainRewardModel } from '../src/preference/reward-train.ts';
import { simSegmentPairs, transitionAdvantage, tryCandidates, type SimTransition } from '../src/preference/sim-regret.ts';

const { positionals, values: a } = parseArgs({
  allowPositionals: true,
  options: {
    states: { type: 'string', default: '100' },
    candidates: { type: 'string', default: '4' },
    horizon: { type: 'string', default: '3' },
    seed: { type: 'string', default: '2100' },
    policy: { type: 'string', default: 'policies/rope-circle/sl' },
    out: { type: 'string', default: 'runs/regret' },
    data: { type: 'string', default: 'runs/regret' },
    pairs: { type: 'string', default: '4000' },
    epochs: { type: 'string', default: '60' },
    save: { type: 'string' },
    'same-state': { type: 'string', default: '0.5' },
  },
});
await initBackend({ backend: 'wasm', log: null });
const FILE = 'transitions.jsonl';
const enc = (p: Float32Array) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64');
const dec = (s: string) => {
  const b = Buffer.from(s, 'base64');
  const f = new Float32Array(b.byteLength / 4);
  new Uint8Array(f.buffer).set(b);
  return f;
};

if (positionals[0] === 'collect') {
  const { createWorld } = await import('../sim/index.ts');
  const world = await createWorld('rope-circle');
  const { model, processor } = loadPolicy(a.policy!, { trainable: false });
  const proposer = new PolicyProposer(model, processor, { kind: world.primitive });
  const seed = Number(a.seed);
  const rng = new Rng(seed);
  const lines: string[] = [];
  const t0 = performance.now();
  let state = 0;
  for (let ep = 0; state < Number(a.states); ep++) {
    world.reset(seed + ep);
    for (let step = 0; step < world.stepLimit && state < Number(a.states) && !world.success(); step++) {
      const cloud = world.observe();
      const cands = await proposer.propose(cloud, Number(a.candidates), rng.nextU32());
      const ts = await tryCandidates(world, cands, state, rng, { horizon: Number(a.horizon) });
      for (const t of ts)
        lines.push(JSON.stringify({ ...t, cloud: enc(t.cloud.points), next: enc(t.next.points), episode: seed + ep, step }));
      state++;
      if (ts.length === 0) break;
      // move on: the best tried candidate (by r + V̂(s')) or a random one, even odds
      const pick = rng.next() < 0.5 ? ts.reduce((b, t) => (t.reward + t.vEnd > b.reward + b.vEnd ? t : b)) : ts[rng.int(ts.length)]!;
      await world.execute(pick.action);
      if (state % 10 === 0) console.error(`${state} states, ${((performance.now() - t0) / 1000 / state).toFixed(2)} s/state`);
    }
  }
  mkdirSync(a.out!, { recursive: true });
  writeFileSync(join(a.out!, FILE), lines.join('\n') + '\n');
  const wall = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ states: state, transitions: lines.length, wall_s: +wall.toFixed(1), s_per_state: +(wall / state).toFixed(2) }));
  world.dispose();
  model.dispose();
} else if (positionals[0] === 'fit') {
  const path = join(a.data!, FILE);
  if (!existsSync(path)) throw new Error(`${path}: run collect first`);
  const ts: SimTransition[] = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l);
      return { ...r, cloud: makeCloud(dec(r.cloud), 'table'), next: makeCloud(dec(r.next), 'table') };
    });
  const adv = ts.map(transitionAdvantage);
  const rew = ts.map((t) => t.reward);
  const features = DEFAULT_REWARD_FEATURES;
  const pairs = Number(a.pairs);
  const epochs = Number(a.epochs);
  const results: Record<string, unknown>[] = [];
  const t0 = performance.now();
  let saved = false;
  for (const labels of ['regret', 'partial-return'] as const) {
    const data = simSegmentPairs(ts, { pairs, seed: 7, labels, features, sameState: Number(a['same-state']) });
    for (const model of ['bt', 'regret'] as const) {
      const t1 = performance.now();
      const fit = trainRewardModel(data, { model, epochs, lr: 1e-3, hidden: [64, 64], valueHidden: [64], valFraction: 0.25, seed: 0 });
      results.push({
        labels,
        model: model === 'bt' ? 'partial return (BT)' : 'regret (r + V)',
        valLogLikelihood: +fit.report.val!.logLikelihood.toFixed(4),
        valAccuracy: +fit.report.val!.accuracy.toFixed(3),
        trainLogLikelihood: +fit.report.train.logLikelihood.toFixed(4),
        bestEpoch: fit.report.bestEpoch,
        wall_s: +((performance.now() - t1) / 1000).toFixed(1),
      });
      if (labels === 'regret' && model === 'bt' && a.save) {
        // the partial-return model fitted to regret labels learns Â*(s, a) (Knox et al., AAAI 2024)
        saveRewardModel(a.save, fit.model, { command: `npx tsx scripts/regret-sim.ts fit --data ${a.data} --pairs ${pairs} --epochs ${epochs} --same-state ${a['same-state']} --save ${a.save}`, features, report: fit.report, target: 'advantage' });
        saved = true;
      }
      fit.model.dispose();
    }
  }
  const corr = (x: number[], y: number[]) => {
    const mx = x.reduce((s, v) => s + v, 0) / x.length;
    const my = y.reduce((s, v) => s + v, 0) / y.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    x.forEach((v, i) => ((sxy += (v - mx) * (y[i]! - my)), (sxx += (v - mx) ** 2), (syy += (y[i]! - my) ** 2)));
    return sxy / Math.sqrt(sxx * syy);
  };
  console.log(
    JSON.stringify(
      {
        transitions: ts.length,
        states: new Set(ts.map((t) => t.state)).size,
        corr_reward_advantage: +corr(rew, adv).toFixed(3),
        mean_regret: +(-adv.reduce((s, v) => s + v, 0) / adv.length).toFixed(4),
        results,
        saved_advantage: saved ? a.save : null,
        wall_s: +((performance.now() - t0) / 1000).toFixed(1),
      },
      null,
      1,
    ),
  );
} else throw new Error('usage: regret-sim.ts collect|fit [options]');
