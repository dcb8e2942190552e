// Label efficiency, random vs active state choice: a robust reward trained on growing sets of ranked states
// from one pool, scored on held-out states by the share of the best candidate's gain its choice recovers.
// Run: npx tsx scripts/label-efficiency.ts --pool runs/rope-circle/prefs --heldout runs/rope-circle/heldout --budgets 50,100,150,200 --svg docs/label-efficiency.svg
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.ts';
import { initBackend } from '../src/nn/backend.ts';
import { mostUncertain, robustUncertainty } from '../src/preference/active.ts';
import { RANKINGS_FILE, readRankings, readStates, type CandidateState } from '../src/preference/dataset.ts';
import { candidateFeatures, DEFAULT_REWARD_FEATURES } from '../src/preference/features.ts';
import { candidatePairData } from '../src/preference/pair-data.ts';
import type { RewardModel } from '../src/preference/reward-model.ts';
import { trainRewardModel } from '../src/preference/reward-train.ts';

const { values: a } = parseArgs({
  options: {
    pool: { type: 'string' },
    heldout: { type: 'string' },
    budgets: { type: 'string', default: '50,100,150,200' },
    seeds: { type: 'string', default: '0,1' },
    epochs: { type: 'string', default: '10' },
    svg: { type: 'string' },
  },
});
await initBackend({ backend: 'wasm', log: null });
const features = DEFAULT_REWARD_FEATURES;
const pool = readStates(a.pool!);
const rankings = readRankings(join(a.pool!, RANKINGS_FILE));
const rankOf = new Map(rankings.map((r) => [r.stateId, r]));
const held = readStates(a.heldout!).filter((s) => s.oracle && s.oracle.filter(Number.isFinite).length >= 2);
const budgets = a.budgets!.split(',').map(Number);
const seeds = a.seeds!.split(',').map(Number);

function train(states: CandidateState[], seed: number): RewardModel {
  const data = candidatePairData(states, states.map((s) => rankOf.get(s.stateId)!).filter(Boolean), features);
  return trainRewardModel(data, { model: 'robust', epochs: Number(a.epochs), valFraction: 0.2, seed }).model; // the recipe of reward-robust/: early stopping on held-out pairs
}

/** Share of the best candidate's gain over the mean that the μ − σ choice recovers, over held-out states. */
function share(m: RewardModel): number {
  let got = 0;
  let best = 0;
  for (const s of held) {
    const o = s.oracle!;
    const ok = o.map((v, i) => (Number.isFinite(v) ? i : -1)).filter((i) => i >= 0);
    const sc = m.score(candidateFeatures(s.cloud, s.workspace, s.candidates, features));
    const pick = ok.reduce((b, i) => (sc[i]!.score - sc[i]!.std! > sc[b]!.score - sc[b]!.std! ? i : b), ok[0]!);
    const mean = ok.reduce((t, i) => t + o[i]!, 0) / ok.length;
    got += o[pick]! - mean;
    best += Math.max(...ok.map((i) => o[i]!)) - mean;
  }
  return got / best;
}

const rows: { arm: string; seed: number; states: number; share: number; wall_s: number }[] = [];
const t0 = performance.now();
for (const seed of seeds) {
  const order = new Rng(seed).shuffle(pool.map((_, i) => i));
  for (const arm of ['random', 'active'] as const) {
    let chosen = order.slice(0, budgets[0]!).map((i) => pool[i]!);
    for (const [bi, b] of budgets.entries()) {
      if (bi > 0) {
        const have = new Set(chosen.map((s) => s.stateId));
        const rest = order.map((i) => pool[i]!).filter((s) => !have.has(s.stateId));
        const add = b - chosen.length;
        if (arm === 'random') chosen = [...chosen, ...rest.slice(0, add)];
        else {
          // the reward trained on the states labelled so far picks where it is least sure
          const m = train(chosen, seed);
          chosen = [...chosen, ...mostUncertain(rest, robustUncertainty(m, features), add)];
          m.dispose();
        }
      }
      const t1 = performance.now();
      const m = train(chosen, seed);
      rows.push({ arm, seed, states: b, share: +share(m).toFixed(4), wall_s: +((performance.now() - t1) / 1000).toFixed(1) });
      console.error(JSON.stringify(rows[rows.length - 1]));
      m.dispose();
    }
  }
}
const mean = (arm: string, b: number) => {
  const v = rows.filter((r) => r.arm === arm && r.states === b).map((r) => r.share);
  return v.reduce((s, x) => s + x, 0) / v.length;
};
const curve = budgets.map((b) => ({ states: b, random: +mean('random', b).toFixed(4), active: +mean('active', b).toFixed(4) }));
console.log(JSON.stringify({ heldout: held.length, pool: pool.length, curve, rows, wall_s: +((performance.now() - t0) / 1000).toFixed(1) }, null, 1));

if (a.svg) {
  const W = 560;
  const H = 320;
  const [L, R, T, B] = [60, 20, 36, 44];
  const ys = curve.flatMap((c) => [c.random, c.active]);
  const y0 = Math.floor(Math.min(...ys) * 20) / 20;
  const y1 = Math.ceil(Math.max(...ys) * 20) / 20;
  const x0 = budgets[0]!;
  const x1 = budgets[budgets.length - 1]!;
  const px = (x: number) => L + ((x - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - y0) / Math.max(1e-6, y1 - y0)) * (H - T - B);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">rope-circle: held-out share of the best candidate's gain vs ranked states</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`,
  ];
  for (let y = y0; y <= y1 + 1e-9; y += 0.05)
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#eee"/><text x="${L - 6}" y="${py(y).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${y.toFixed(2)}</text>`);
  for (const b of budgets) parts.push(`<text x="${px(b).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${b}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">ranked states (robust reward, μ − σ choice; mean of ${seeds.length} seeds)</text>`);
  (['random', 'active'] as const).forEach((arm, i) => {
    const color = arm === 'random' ? '#1f77b4' : '#d62728';
    const d = curve.map((c, j) => `${j ? 'L' : 'M'}${px(c.states).toFixed(1)},${py(c[arm]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const c of curve) parts.push(`<circle cx="${px(c.states).toFixed(1)}" cy="${py(c[arm]).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${L + 12}" y="${T + 10 + i * 18}" width="12" height="3" fill="${color}"/><text x="${L + 30}" y="${T + 12 + i * 18}" dominant-baseline="middle">${arm === 'random' ? 'random states' : 'active (robust σ of the top candidates)'}</text>`);
  });
  parts.push('</svg>\n');
  writeFileSync(a.svg, parts.join('\n'));
}
