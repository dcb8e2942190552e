import { describe, expect, it } from 'vitest';
import type { Vec3, WorkspaceBox } from '../../src/core/geometry.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { Rng } from '../../src/core/rng.ts';
import { safetyViolation, SafetyConfigSchema } from '../../src/select/safety.ts';
import { selectAction, selectionOrder } from '../../src/select/select-action.ts';

const box: WorkspaceBox = { min: [-0.4, -0.4, 0], max: [0.4, 0.4, 0.3] };
const pp = (a: Vec3, b: Vec3): Primitive => ({ kind: 'pick_place', a, b });
const ok = pp([0, 0, 0.02], [0.1, 0, 0.02]);
const outside = pp([0.5, 0, 0.02], [0.1, 0, 0.02]);
const below = pp([0, 0, 0.02], [0.1, 0, -0.01]);
const far = pp([0.35, 0.35, 0.02], [0.1, 0, 0.02]);
const safety = { reach: { bases: [[0, -0.6, 0] as Vec3], radius: 0.85 }, table: { z: 0, clearance: 0.005 } };

describe('safety filter', () => {
  it.each([
    [ok, null],
    [outside, /pick\.x = 0\.5 m is above workspace max\.x = 0\.4 m/],
    [below, /place\.z = -0\.01 m is below workspace min\.z = 0 m/],
    [pp([0, 0, 0.002], [0.1, 0, 0.02]), /pick\.z = 0\.002 m collides with the table \(needs ≥ 0\.005 m\)/],
    [far, /pick is 1\.0126 m from the nearest arm base, beyond reach 0\.85 m/],
  ])('%#', (p, want) => {
    const got = safetyViolation(p, box, SafetyConfigSchema.parse(safety));
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });
});

describe('selectAction', () => {
  it('chooses the best-scored candidate when it is safe', () => {
    const d = selectAction([ok, ok, ok], [{ score: 1 }, { score: 3 }, { score: 2 }], { workspace: box, safety });
    expect(d.chosen).toBe(1);
    expect(d.candidates.every((c) => c.safe)).toBe(true);
  });

  it('falls back to the next-best safe candidate, in score order', () => {
    const cands = [ok, outside, far, ok, below];
    const scores = [{ score: 0.1 }, { score: 0.9 }, { score: 0.8 }, { score: 0.5 }, { score: 0.7 }];
    const d = selectAction(cands, scores, { workspace: box, safety });
    expect(d.chosen).toBe(3);
    expect(d.candidates.map((c) => c.safe)).toEqual([true, false, false, true, false]);
    expect(d.candidates[1]!.reason).toMatch(/workspace/);
    expect(d.candidates[2]!.reason).toMatch(/reach/);
    expect(selectionOrder(scores)).toEqual([1, 2, 4, 3, 0]);
  });

  it('holds and says why for every candidate when none is safe', () => {
    const d = selectAction([outside, below], [{ score: 1 }, { score: 2 }], { workspace: box, safety });
    expect(d.chosen).toBeNull();
    expect(d.holdReason).toMatch(/^hold: no safe candidate \(#1: place\.z.*; #0: pick\.x/);
  });

  it('holds on an empty candidate list', () => {
    expect(selectAction([], [], { workspace: box }).holdReason).toMatch(/no candidates/);
  });

  it('ranks by the lower confidence bound when asked', () => {
    const scores = [{ score: 1, std: 0.8 }, { score: 0.8, std: 0.1 }];
    expect(selectAction([ok, ok], scores, { workspace: box }).chosen).toBe(0);
    const d = selectAction([ok, ok], scores, { workspace: box, lcb: 1 });
    expect(d.chosen).toBe(1);
    expect(d.candidates[0]!.scoreStd).toBe(0.8);
  });

  it('applies an extra veto such as world.checkPrimitive', () => {
    const d = selectAction([ok, ok], [{ score: 2 }, { score: 1 }], { workspace: box, check: (p) => (p === ok ? null : 'x') });
    expect(d.chosen).toBe(0);
    const veto = selectAction([ok, ok], [{ score: 2 }, { score: 1 }], { workspace: box, check: () => 'arm busy' });
    expect(veto.chosen).toBeNull();
    expect(veto.holdReason).toMatch(/arm busy/);
  });

  it('ranks NaN scores last', () => {
    expect(selectAction([ok, ok], [{ score: NaN }, { score: -5 }], { workspace: box }).chosen).toBe(1);
  });

  it('refuses mismatched score counts', () => {
    expect(() => selectAction([ok], [], { workspace: box })).toThrow(/scores: expected 1 entries/);
  });

  it('never returns an unsafe candidate, and always the best safe one (random trials)', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(10);
      const cands: Primitive[] = [];
      const scores: { score: number; std: number }[] = [];
      for (let i = 0; i < n; i++) {
        const r = () => [rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(-0.05, 0.35)] as Vec3;
        cands.push(pp(r(), r()));
        scores.push({ score: rng.normal(), std: rng.uniform(0, 1) });
      }
      const lcb = rng.int(2);
      const d = selectAction(cands, scores, { workspace: box, safety, lcb });
      const cfg = SafetyConfigSchema.parse(safety);
      const safeIdx = cands.map((c, i) => (safetyViolation(c, box, cfg) === null ? i : -1)).filter((i) => i >= 0);
      if (safeIdx.length === 0) {
        expect(d.chosen).toBeNull();
        continue;
      }
      expect(d.chosen).not.toBeNull();
      expect(safetyViolation(cands[d.chosen!]!, box, cfg)).toBeNull();
      const v = (i: number) => scores[i]!.score - lcb * scores[i]!.std;
      for (const i of safeIdx) expect(v(d.chosen!)).toBeGreaterThanOrEqual(v(i));
    }
  });
});
