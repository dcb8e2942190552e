import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemonstrationWriter } from '../../sim/collect-format.ts';
import { Rng } from '../../src/core/rng.ts';
import { main } from '../../src/stack/cli.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';

let dir: string;

/** A small synthetic demonstration set (no simulator): rope-like point strips and two acceptable actions each. */
function writeDemos(path: string, kind: 'pick_place' | 'sweep' = 'pick_place'): void {
  const rng = new Rng(3);
  const w = new DemonstrationWriter(path, { task: kind === 'sweep' ? 'granular-t' : 'rope-circle', primitive: kind, frame: 'table', episodes: 1, seed: 0, pointBudget: 200, maxActions: 2 });
  for (let s = 0; s < 6; s++) {
    const cloud = new Float32Array(200 * 3);
    const y0 = rng.uniform(-0.1, 0.1);
    for (let i = 0; i < 200; i++) cloud.set([-0.3 + (0.6 * i) / 199, y0 + rng.uniform(-0.005, 0.005), 0.006], i * 3);
    const a = { kind, a: [-0.3, y0, 0.006] as [number, number, number], b: [0, y0 + 0.2, 0.006] as [number, number, number] };
    const b = { kind, a: [0.3, y0, 0.006] as [number, number, number], b: [0, y0 - 0.2, 0.006] as [number, number, number] };
    w.add({ episode: 0, seed: 0, step: s, cloud, actions: [a, b], executed: a, executedIndex: 0, metricsBefore: {}, metricsAfter: {}, successAfter: false, done: s === 5 });
  }
  w.close();
}

/** Runs the CLI in this process (one start-up for all cases), capturing stdout and stderr. */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    const status = await main(['node', 'pamstack', ...args, '--backend', 'wasm']);
    return { status, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

beforeAll(() => {
  dir = mkdtempSync(`${os.tmpdir()}/pamstack-train-`);
  writeDemos(`${dir}/demos`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pamstack train policy', () => {
  it('trains from demonstrations, writes a checkpoint and prints a JSON summary; the checkpoint drives an agent', async () => {
    const r = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol`, '--epochs', '2', '--batch-states', '3', '--points', '64', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ states: 6, actions: 12, epochs: 2, task: 'rope-circle' });
    expect(out.val_states + out.train_states).toBe(6);
    for (const f of ['policy.json', 'weights.bin', 'optimizer.bin', 'loss.svg']) expect(existsSync(`${dir}/pol/${f}`)).toBe(true);

    const decider = await loadDecider(deciderSpecFor(`${dir}/pol`, { select: 'random', candidates: 5 }));
    const ws = { min: [-0.5, -0.5, 0] as [number, number, number], max: [0.5, 0.5, 0.5] as [number, number, number] };
    const obs = { points: new Float32Array(Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? -0.3 + (i / 300) * 0.6 : i % 3 === 1 ? 0.02 : 0.006))), frame: 'table' as const, stamp: 0 };
    const d = await decider.decide(obs, { workspace: ws, kind: 'pick_place', seed: 1 });
    expect(d.candidates).toHaveLength(5);
    expect(d.chosen).not.toBeNull();
    expect(d.candidates[d.chosen!]!.primitive.kind).toBe('pick_place');
    // picks are snapped onto the observed object, in the table frame
    for (const c of d.candidates) expect(Math.abs(c.primitive.a[1] - 0.02)).toBeLessThan(1e-6);
    const refused = await decider.decide(obs, { workspace: ws, kind: 'pick_place', seed: 1, check: () => 'pick.x = 9 m is above workspace max.x' });
    expect(refused.chosen).toBeNull();
    expect(refused.holdReason).toMatch(/no safe candidate \(#\d: pick\.x = 9 m/);
    await expect(decider.decide(obs, { workspace: ws, kind: 'fling', seed: 1 })).rejects.toThrow(/this policy proposes pick_place, received fling/);
    decider.dispose();
  });

  it('a --config that names only some policy keys keeps the demonstrations\' primitive kind (sweep)', async () => {
    writeDemos(`${dir}/sweep`, 'sweep');
    writeFileSync(`${dir}/arch.json`, JSON.stringify({ policy: { points: 16, local: { width: 4 } }, processor: { center: 'table' } }));
    const r = await run(['train', 'policy', '--data', `${dir}/sweep`, '--out', `${dir}/sweep-pol`, '--config', `${dir}/arch.json`, '--epochs', '1', '--quiet', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const ck = JSON.parse(readFileSync(`${dir}/sweep-pol/policy.json`, 'utf8'));
    expect(ck.config.kinds).toEqual(['sweep']);
    expect(ck.config.points).toBe(16);
    expect(ck.config.local.width).toBe(4);
    expect(ck.processor.center).toBe('table');
  });

  it('--init starts a new run from a saved policy: its architecture, processor and weights, a fresh schedule', async () => {
    // lr 1e-8: one epoch leaves the weights where --init put them, so they must equal pol's
    const r = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/longer`, '--init', `${dir}/pol`, '--epochs', '1', '--lr', '1e-8', '--quiet', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const before = JSON.parse(readFileSync(`${dir}/pol/policy.json`, 'utf8'));
    const after = JSON.parse(readFileSync(`${dir}/longer/policy.json`, 'utf8'));
    expect(after.config).toEqual(before.config);
    expect(after.processor).toEqual(before.processor);
    const w0 = new Float32Array(new Uint8Array(readFileSync(`${dir}/pol/weights.bin`)).buffer);
    const w1 = new Float32Array(new Uint8Array(readFileSync(`${dir}/longer/weights.bin`)).buffer);
    expect(w1.length).toBe(w0.length);
    let maxDiff = 0;
    for (let i = 0; i < w0.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w1[i]! - w0[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(after.training.config.lr).toBe(1e-8);
    expect(after.training.step).toBeGreaterThan(0);

    const both = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol`, '--init', `${dir}/pol`, '--resume']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--resume .* --init .*pass one of them/);
    writeFileSync(`${dir}/arch2.json`, JSON.stringify({ policy: { points: 16 } }));
    const arch = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/longer2`, '--init', `${dir}/pol`, '--config', `${dir}/arch2.json`]);
    expect(arch.status).toBe(2);
    expect(arch.stderr).toMatch(/--init: the architecture and processor come from .*train section/);
    const missing = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/longer3`, '--init', `${dir}/nope`]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--init: /);
  });

  it('refuses to overwrite, a changed setting on resume, unknown config keys and bad flags, naming them', async () => {
    const again = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol`, '--epochs', '2']);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/--out: .* already holds a policy; pass --resume/);
    const changed = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol`, '--resume', '--lr', '0.5']);
    expect(changed.status).toBe(2);
    expect(changed.stderr).toMatch(/--resume: lr was 0\.0001 in the checkpoint, received 0\.5/);
    writeFileSync(`${dir}/bad.yaml`, 'train:\n  epoch: 3\n');
    const cfg = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol2`, '--config', `${dir}/bad.yaml`]);
    expect(cfg.status).toBe(2);
    expect(cfg.stderr).toMatch(/train/);
    expect(cfg.stderr).toMatch(/epoch/);
    const flag = await run(['train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/pol3`, '--epochs', '0']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/--epochs/);
  });
});
