import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { DeliveryGrid, regretSegmentPairs } from '../../src/preference/delivery-grid.ts';
import { loadRewardModel, readRewardMeta, saveRewardModel } from '../../src/preference/reward-io.ts';
import type { PairData } from '../../src/preference/reward-model.ts';
import { trainRewardModel } from '../../src/preference/reward-train.ts';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

/** Candidate pairs (steps = 1) with a hidden reward r(x) = x0 − x1² + 0.5·x2 and Boltzmann labels. */
function candidatePairs(pairs: number, seed: number, noisyRegion = false): PairData {
  const rng = new Rng(seed);
  const d = 4;
  const left = new Float32Array(pairs * d);
  const right = new Float32Array(pairs * d);
  const y = new Float32Array(pairs);
  const group = new Int32Array(pairs);
  const r = (x: Float32Array, o: number) => x[o]! - x[o + 1]! ** 2 + 0.5 * x[o + 2]!;
  for (let p = 0; p < pairs; p++) {
    for (let j = 0; j < d; j++) {
      left[p * d + j] = rng.uniform(-1, 1);
      right[p * d + j] = rng.uniform(-1, 1);
    }
    const delta = r(left, p * d) - r(right, p * d);
    // labels are coin flips where x3 > 0.5 on the left (an unreliable region) when asked
    const beta = noisyRegion && left[p * d + 3]! > 0.5 ? 0 : 8;
    y[p] = rng.next() < 1 / (1 + Math.exp(-beta * delta)) ? 1 : 0;
    group[p] = Math.floor(p / 4);
  }
  return { rowDim: d, steps: 1, left, right, y, group };
}

/**
 * One-step candidate data as shared items (PairData.items): states of 4 candidates, each row 2 head
 * numbers and a block of 8 points × 6; the hidden reward is the largest first coordinate among the
 * points (order-free, so only a pooled point encoder can read it), labels by a clean teacher.
 */
function pointItems(states: number, seed: number): PairData {
  const rng = new Rng(seed);
  const d = 2 + 8 * 6;
  const rows = new Float32Array(states * 4 * d);
  const reward: number[] = [];
  for (let i = 0; i < states * 4; i++) {
    let best = -Infinity;
    for (let j = 0; j < d; j++) rows[i * d + j] = rng.uniform(-1, 1);
    for (let q = 0; q < 8; q++) best = Math.max(best, rows[i * d + 2 + q * 6]!);
    reward.push(best);
  }
  const left: number[] = [];
  const right: number[] = [];
  const y: number[] = [];
  const group: number[] = [];
  for (let s = 0; s < states; s++)
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 4; b++)
        if (a !== b) {
          left.push(s * 4 + a);
          right.push(s * 4 + b);
          y.push(reward[s * 4 + a]! > reward[s * 4 + b]! ? 1 : 0);
          group.push(s);
        }
  const empty = new Float32Array(0);
  return { rowDim: d, steps: 1, left: empty, right: empty, y: Float32Array.from(y), group: Int32Array.from(group), items: { rows, left: Int32Array.from(left), right: Int32Array.from(right) } };
}

describe('explicit reward models', () => {
  it('a point-encoder reward learns an order-free function of the point block, from shared items', () => {
    const data = pointItems(150, 11);
    const before = tf.memory().numTensors;
    const { model, report } = trainRewardModel(data, { model: 'bt', hidden: [16], epochs: 25, lr: 0.01, batch: 96, pointEncoder: { points: 8, hidden: [16, 16] } });
    expect(report.val!.accuracy).toBeGreaterThan(0.8);
    // permuting the points of a row leaves its reward unchanged
    const row = data.items!.rows.slice(0, 50);
    const perm = row.slice();
    for (let q = 0; q < 8; q++) perm.set(row.subarray(2 + q * 6, 2 + (q + 1) * 6), 2 + (7 - q) * 6);
    expect(model.score(perm)[0]!.score).toBeCloseTo(model.score(row)[0]!.score, 5);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // a plain MLP over the same rows does worse (it has to learn the max over 8 unordered slots)
    const mlp = trainRewardModel(data, { model: 'bt', hidden: [16], epochs: 25, lr: 0.01, batch: 96 });
    expect(mlp.report.val!.accuracy).toBeLessThan(report.val!.accuracy);
    mlp.model.dispose();
  });

  it('a point-encoder checkpoint loads and scores identically (robust)', () => {
    const data = pointItems(30, 12);
    const { model, report } = trainRewardModel(data, { model: 'robust', hidden: [8], epochs: 2, pointEncoder: { points: 8, hidden: [8] } });
    const dir = mkdtempSync(join(tmpdir(), 'pam-reward-pn-'));
    try {
      saveRewardModel(dir, model, { command: 'test', features: null, report });
      const loaded = loadRewardModel(dir);
      const rows = data.items!.rows.subarray(0, 3 * 50);
      expect(loaded.model.score(rows)).toEqual(model.score(rows));
      loaded.model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('Bradley–Terry learns a hidden reward: held-out accuracy well above chance, and leaks no tensors', () => {
    const data = candidatePairs(600, 1);
    const before = tf.memory().numTensors;
    const { model, report } = trainRewardModel(data, { model: 'bt', hidden: [16], epochs: 40, lr: 0.01 });
    expect(report.val!.pairs).toBeGreaterThan(80);
    expect(report.val!.accuracy).toBeGreaterThan(0.8);
    expect(report.val!.logLikelihood).toBeGreaterThan(Math.log(0.5));
    expect(report.curve[report.curve.length - 1]!.loss).toBeLessThan(report.curve[0]!.loss);
    const s = model.score(data.left.subarray(0, 8 * 4));
    expect(s).toHaveLength(8);
    expect(s[0]!.std).toBeUndefined();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('robust Gaussian reward learns the mean and reports a std per row', () => {
    const data = candidatePairs(600, 2, true);
    const { model, report } = trainRewardModel(data, { model: 'robust', hidden: [16], epochs: 40, lr: 0.01, klWeight: 0.05 });
    expect(report.val!.accuracy).toBeGreaterThan(0.7);
    const s = model.score(data.left.subarray(0, 16 * 4));
    for (const r of s) expect(r.std).toBeGreaterThan(0);
    model.dispose();
  });

  it('robust model with ties only keeps σ near its prior σ₀ under a strong KL weight', () => {
    const data = candidatePairs(200, 3);
    data.y.fill(0.5);
    const { model } = trainRewardModel(data, { model: 'robust', hidden: [8], epochs: 100, lr: 0.01, sigma0: 0.5, klWeight: 20, valFraction: 0 });
    const s = model.score(data.left.subarray(0, 10 * 4));
    for (const r of s) {
      expect(r.std!).toBeGreaterThan(0.4);
      expect(r.std!).toBeLessThan(0.6);
    }
    model.dispose();
  });

  it('regret model fits regret-teacher segments better than partial return (held-out log-likelihood)', () => {
    const grid = new DeliveryGrid(6, 3);
    const data = regretSegmentPairs(grid, { pairs: 500, steps: 3, greedy: 0.5, seed: 1, teacher: { beta: 1 } });
    const pr = trainRewardModel(data, { model: 'bt', hidden: [], epochs: 30, lr: 0.02 });
    const rg = trainRewardModel(data, { model: 'regret', hidden: [], valueHidden: [32], epochs: 30, lr: 0.02 });
    expect(rg.report.val!.logLikelihood).toBeGreaterThan(pr.report.val!.logLikelihood + 0.05);
    expect(rg.report.val!.accuracy).toBeGreaterThan(pr.report.val!.accuracy);
    pr.model.dispose();
    rg.model.dispose();
  });

  it('saves and loads a checkpoint that scores identically; a bad file names the field', () => {
    const data = candidatePairs(100, 4);
    const { model, report } = trainRewardModel(data, { model: 'robust', hidden: [8], epochs: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'pam-reward-'));
    try {
      saveRewardModel(dir, model, { command: 'test', features: null, report });
      const loaded = loadRewardModel(dir);
      const rows = data.left.subarray(0, 5 * 4);
      expect(loaded.model.score(rows)).toEqual(model.score(rows));
      loaded.model.dispose();
      expect(readRewardMeta(dir)).toEqual({ model: 'robust', features: null, target: 'reward', command: 'test' });
      writeFileSync(join(dir, 'reward.json'), JSON.stringify({ format: 'pamstack-reward/1', config: { model: 'bt', lr: -1 } }));
      expect(() => loadRewardModel(dir)).toThrow(/config\.lr/);
      expect(() => readRewardMeta(dir)).toThrow(/config\.lr/);
      expect(() => readRewardMeta(join(dir, 'missing'))).toThrow(/missing\/reward\.json: cannot read a reward checkpoint/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('refuses malformed pair data naming the field', () => {
    const data = candidatePairs(10, 5);
    expect(() => trainRewardModel({ ...data, y: data.y.map(() => 2) }, { model: 'bt' })).toThrow(/pairs\.y\[0\]: expected a probability/);
    expect(() => trainRewardModel(data, { model: 'regret' })).toThrow(/leftStates/);
    expect(() => trainRewardModel(data, { model: 'bt', lr: 0 })).toThrow(/lr/);
    expect(() => trainRewardModel(data, { model: 'bt', pointEncoder: { points: 2, hidden: [4] } })).toThrow(/pointEncoder\.points: 2 points need rows longer than 12/);
    const items = pointItems(3, 6);
    const bad = { ...items, items: { ...items.items!, right: items.items!.right.map((v, i) => (i === 5 ? 99 : v)) } };
    expect(() => trainRewardModel(bad, { model: 'bt' })).toThrow(/pairs\.items\.right\[5\]: expected a row index in \[0, 12\), received 99/);
  });
});
