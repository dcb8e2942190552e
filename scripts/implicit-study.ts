// Why is the implicit reward weak? Scores held-out ranked states (with the candidate oracle's true scores)
// by DPO models' implicit rewards and by explicit rewards, and reports ranking quality and noise.
// Run: npx tsx scripts/implicit-study.ts --heldout DIR --sl DIR [--dpo DIR,…] [--reward DIR,…] [--draws M] [--repeats R] [--states S]
import { parseArgs } from 'node:util';
import { initBackend } from '../src/nn/backend.ts';
import { loadPolicy } from '../src/policy/checkpoint.ts';
import { ACTION_DIM } from '../src/policy/config.ts';
import { readStates } from '../src/preference/dataset.ts';
import { candidateFeatures } from '../src/preference/features.ts';
import { implicitReward } from '../src/preference/implicit-reward.ts';
import { loadRewardModel } from '../src/preference/reward-io.ts';

const { values: a } = parseArgs({
  options: {
    heldout: { type: 'string' },
    sl: { type: 'string' },
    dpo: { type: 'string', default: '' },
    reward: { type: 'string', default: '' },
    draws: { type: 'string', default: '32' },
    repeats: { type: 'string', default: '3' },
    states: { type: 'string', default: '1000' },
    independent: { type: 'boolean', default: false },
  },
});
await initBackend({ backend: 'wasm', log: null });
const states = readStates(a.heldout!)
  .filter((s) => s.oracle && s.oracle.filter(Number.isFinite).length >= 2)
  .slice(0, Number(a.states));
const M = Number(a.draws);
const R = Number(a.repeats);

/** Ranking quality of scores against the oracle on one state's finite candidates. */
function quality(oracle: number[], score: number[]) {
  const ok = oracle.map((o, i) => (Number.isFinite(o) ? i : -1)).filter((i) => i >= 0);
  let right = 0;
  let pairs = 0;
  for (const i of ok)
    for (const j of ok) {
      if (oracle[i]! - oracle[j]! <= 0.01) continue;
      pairs++;
      if (score[i]! > score[j]!) right++;
    }
  const pick = ok.reduce((b, i) => (score[i]! > score[b]! ? i : b), ok[0]!);
  const mean = ok.reduce((s, i) => s + oracle[i]!, 0) / ok.length;
  const best = Math.max(...ok.map((i) => oracle[i]!));
  return { right, pairs, gain: oracle[pick]! - mean, bestGain: best - mean };
}

type Acc = { right: number; pairs: number; gain: number; bestGain: number; snr: number[]; agree: number[] };
const acc = new Map<string, Acc>();
const add = (name: string, q: ReturnType<typeof quality>, snr?: number, agree?: number) => {
  const e = acc.get(name) ?? { right: 0, pairs: 0, gain: 0, bestGain: 0, snr: [], agree: [] };
  e.right += q.right;
  e.pairs += q.pairs;
  e.gain += q.gain;
  e.bestGain += q.bestGain;
  if (snr !== undefined) e.snr.push(snr);
  if (agree !== undefined) e.agree.push(agree);
  acc.set(name, e);
};

const sl = loadPolicy(a.sl!, { trainable: false });
const dpos = a.dpo!.split(',').filter(Boolean).map((d) => ({ dir: d, ...loadPolicy(d, { trainable: false }) }));
const rewards = a.reward!.split(',').filter(Boolean).map((d) => ({ dir: d, ...loadRewardModel(d) }));
const t0 = performance.now();
let implicitCalls = 0;
for (const s of states) {
  const oracle = s.oracle!;
  const obs = sl.processor.observation(s.cloud);
  const { actions } = sl.processor.actionsToObject(s.candidates, obs.frame);
  const N = s.candidates.length;
  for (const d of dpos) {
    // R repeats with different noise; shared across candidates (common random numbers) as implemented
    const reps: number[][] = [];
    for (let r = 0; r < R; r++) {
      reps.push(implicitReward(d.model, sl.model, obs.points, actions, { draws: M, seed: 1000 + r }).map((x) => x.score));
      implicitCalls++;
    }
    const mean = oracle.map((_, k) => reps.reduce((t, v) => t + v[k]!, 0) / R);
    // signal: spread of the mean score across candidates; noise: spread of one candidate's score across repeats
    const sd = (v: number[]) => {
      const m = v.reduce((t, x) => t + x, 0) / v.length;
      return Math.sqrt(v.reduce((t, x) => t + (x - m) ** 2, 0) / Math.max(1, v.length - 1));
    };
    const signal = sd(mean);
    const noise = oracle.map((_, k) => sd(reps.map((v) => v[k]!))).reduce((t, x) => t + x, 0) / N;
    const argmax = (v: number[]) => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);
    const top = reps.map(argmax);
    const agree = top.filter((x) => x === top[0]).length / R;
    add(`implicit ${d.dir} M=${M} one draw set`, quality(oracle, reps[0]!), signal / Math.max(1e-12, noise), agree);
    add(`implicit ${d.dir} M=${M * R} (mean of ${R})`, quality(oracle, mean));
    if (a.independent) {
      // independent noise per candidate: each candidate scored on its own draw set
      const ind: number[] = [];
      for (let k = 0; k < N; k++)
        ind.push(implicitReward(d.model, sl.model, obs.points, actions.subarray(k * ACTION_DIM, (k + 1) * ACTION_DIM), { draws: M, seed: 5000 + k })[0]!.score);
      add(`implicit ${d.dir} M=${M} independent noise per candidate`, quality(oracle, ind));
    }
  }
  for (const r of rewards) {
    const rows = candidateFeatures(s.cloud, s.workspace, s.candidates, r.features!);
    const sc = r.model.score(rows);
    add(`explicit ${r.dir} μ`, quality(oracle, sc.map((x) => x.score)));
    if (sc[0]!.std !== undefined) add(`explicit ${r.dir} μ−σ`, quality(oracle, sc.map((x) => x.score - x.std!)));
  }
}
const wall = (performance.now() - t0) / 1000;
const rows = [...acc].map(([name, e]) => ({
  scorer: name,
  states: states.length,
  pairAccuracy: +(e.right / e.pairs).toFixed(3),
  share: +(e.gain / e.bestGain).toFixed(3),
  snr: e.snr.length ? +(e.snr.reduce((t, x) => t + x, 0) / e.snr.length).toFixed(3) : undefined,
  argmaxAgreement: e.agree.length ? +(e.agree.reduce((t, x) => t + x, 0) / e.agree.length).toFixed(3) : undefined,
}));
console.log(JSON.stringify({ rows, wall_s: +wall.toFixed(1), s_per_implicit_state: implicitCalls ? +(wall / implicitCalls).toFixed(3) : undefined }, null, 1));
