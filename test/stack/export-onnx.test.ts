// `pamstack export onnx`: the files run in ONNX Runtime as a robot PC would run them, and agree with tfjs.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { loadPolicy } from '../../src/policy/checkpoint.ts';
import { samplerNoise } from '../../src/policy/onnx-proposer.ts';
import { sampleCandidates } from '../../src/policy/sampler.ts';
import { loadRewardModel } from '../../src/preference/reward-io.ts';
import { runCli } from './run-cli.ts';

const ROOT = new URL('../../policies/', import.meta.url).pathname;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const session = (dir: string, f: string) => ort.InferenceSession.create(readFileSync(join(dir, f)));

describe('pamstack export onnx', () => {
  const out = mkdtempSync(join(tmpdir(), 'pamstack-onnx-'));
  let manifest: { files: { file: string }[]; sampler: { steps: number; eta: number }; rewards: { file: string; dir: string }[] };

  beforeAll(async () => {
    await initBackend({ log: null });
    const r = await runCli(['export', 'onnx', '--policy', join(ROOT, 'rope-circle'), '--out', out, '--steps', '8', '--json']);
    expect(r.code).toBe(0);
    manifest = JSON.parse(r.out.trim().split('\n').at(-1)!);
  });

  it('writes the sampler, encoder, denoiser and every reward head with the processor config', () => {
    const names = manifest.files.map((f) => f.file).sort();
    expect(names).toEqual(['denoiser.onnx', 'encoder.onnx', 'reward-bt.onnx', 'reward-points.onnx', 'reward-robust.onnx', 'sampler.onnx']);
    const cfg = JSON.parse(readFileSync(join(out, 'processor.json'), 'utf8'));
    expect(cfg.processor.scale).toBe(0.35);
    expect(cfg.sampler.timesteps.length).toBe(8);
    expect(cfg.decider.rewardDir).toBe('reward-points');
  });

  it('sampler.onnx gives sampleCandidates\' candidates for the same noise', async () => {
    const { model } = loadPolicy(join(ROOT, 'rope-circle', 'sl'), { trainable: false });
    const pts = new Rng(4).fillNormal(new Float32Array(128 * 3)).map((v) => 0.4 * v) as Float32Array;
    const { noise, z } = samplerNoise(9, 16, 8, 1);
    const s = await session(out, 'sampler.onnx');
    const got = (await s.run({ points: new ort.Tensor('float32', pts, [1, 128, 3]), noise: new ort.Tensor('float32', noise, [16, 6]), z: new ort.Tensor('float32', z!, [8, 16, 6]) })).actions!.data as Float32Array;
    const want = tf.tidy(() => sampleCandidates(model, model.encode(tf.tensor3d(pts, [1, 128, 3])), { n: 16, steps: 8, eta: 1, seed: 9 }).dataSync());
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4);
    model.dispose();
  });

  it('encoder.onnx + denoiser.onnx give model.encode and predictNoise (per-row timesteps)', async () => {
    const { model } = loadPolicy(join(ROOT, 'rope-circle', 'sl'), { trainable: false });
    const rng = new Rng(2);
    const pts = rng.fillNormal(new Float32Array(128 * 3)).map((v) => 0.4 * v) as Float32Array;
    const xt = rng.fillNormal(new Float32Array(12 * 6)) as Float32Array;
    const t = Int32Array.from({ length: 12 }, () => rng.int(100));
    const enc = (await (await session(out, 'encoder.onnx')).run({ points: new ort.Tensor('float32', pts, [1, 128, 3]) })).encoding!;
    const eps = (await (await session(out, 'denoiser.onnx')).run({ encoding: enc, x_t: new ort.Tensor('float32', xt, [12, 6]), t: new ort.Tensor('int64', BigInt64Array.from(t, (v) => BigInt(v)), [12]) })).eps!.data as Float32Array;
    const [wantEnc, wantEps] = tf.tidy(() => {
      const e = model.encode(tf.tensor3d(pts, [1, 128, 3]));
      return [e.dataSync(), model.predictNoise(e, tf.tensor2d(xt, [12, 6]), t).dataSync()];
    });
    expect(maxAbsDiff(enc.data as Float32Array, wantEnc!)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(eps, wantEps!)).toBeLessThanOrEqual(1e-4);
    model.dispose();
  });

  it('reward-*.onnx give RewardModel.score on raw rows', async () => {
    for (const r of manifest.rewards) {
      const { model } = loadRewardModel(r.dir);
      const rng = new Rng(1);
      const rows = new Float32Array(8 * model.rowDim).map((_, i) => model.rowNorm.mean[i % model.rowDim]! + model.rowNorm.std[i % model.rowDim]! * rng.normal());
      const got = (await (await session(out, r.file)).run({ rows: new ort.Tensor('float32', rows, [8, model.rowDim]) })).score!.data as Float32Array;
      const want = model.score(rows).map((s) => s.score);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4 * Math.max(1, ...want.map(Math.abs)));
      model.dispose();
    }
  });

  it('refuses a folder that is neither a task nor a policy, naming the flag', async () => {
    const r = await runCli(['export', 'onnx', '--policy', out, '--out', join(out, 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--policy: expected a policy folder/);
  });
});
