import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { scriptedRanker } from '../../src/preference/ranker.ts';
import { regretTeacher, segmentRegret } from '../../src/preference/regret-teacher.ts';
import {
  bprefLabel,
  partialReturn,
  partialReturnTeacher,
  sigmoid,
  teacherPreset,
  TEACHER_PRESETS,
  TeacherConfigSchema,
  type TeacherLabel,
} from '../../src/preference/teachers.ts';

const N = 20000;
function rate(n: number, f: (rng: Rng) => boolean, seed = 1): number {
  const rng = new Rng(seed);
  let k = 0;
  for (let i = 0; i < n; i++) if (f(rng)) k++;
  return k / n;
}
// 4-sigma band for a Bernoulli rate over N draws
const band = (p: number) => 4 * Math.sqrt((p * (1 - p)) / N) + 1e-9;

describe('B-Pref scripted teachers', () => {
  it('oracle labels by the larger return and calls exact equality a tie', () => {
    const t = partialReturnTeacher(teacherPreset('oracle'));
    const rng = new Rng(0);
    expect(t.label([1, 1], [0, 3], rng)).toBe('right');
    expect(t.label([2, 2], [0, 3], rng)).toBe('left');
    expect(t.label([1, 2], [2, 1], rng)).toBe('tie');
  });

  it.each([0.05, 0.1, 0.3])('mistake teacher flips at rate ε = %s', (eps) => {
    const t = partialReturnTeacher({ mistake: eps });
    const r = rate(N, (rng) => t.label([0], [1], rng) === 'left');
    expect(Math.abs(r - eps)).toBeLessThan(band(eps));
  });

  it.each([
    [0.5, 1],
    [2, 0.5],
    [1, -1.5],
  ])('Boltzmann teacher with β = %s prefers right with probability σ(β·Δ), Δ = %s', (beta, delta) => {
    const t = partialReturnTeacher({ beta });
    const p = sigmoid(beta * delta);
    const r = rate(N, (rng) => t.label([0], [delta], rng) === 'right');
    expect(Math.abs(r - p)).toBeLessThan(band(p));
  });

  it('skip teacher skips exactly the queries whose best return is at or below its threshold', () => {
    const t = partialReturnTeacher({ skip: 0.5 });
    const rng = new Rng(3);
    let skipped = 0;
    for (let i = 0; i < 1000; i++) {
      const a = rng.uniform(0, 1);
      const b = rng.uniform(0, 1);
      const l = t.label([a], [b], rng);
      if (l === 'skip') skipped++;
      expect(l === 'skip').toBe(Math.max(a, b) <= 0.5);
    }
    // both uniforms ≤ 0.5 with probability 0.25
    expect(Math.abs(skipped / 1000 - 0.25)).toBeLessThan(0.06);
  });

  it('equal teacher ties pairs closer than its threshold, even after a mistake flip', () => {
    const t = partialReturnTeacher({ equal: 0.2, mistake: 0.5 });
    const rng = new Rng(4);
    for (let i = 0; i < 500; i++) {
      const d = rng.uniform(-1, 1);
      const l = t.label([0], [d], rng);
      if (Math.abs(d) < 0.2) expect(l).toBe('tie');
      else expect(l).not.toBe('tie');
    }
  });

  it('myopic teacher weighs late steps more (γ^(H−1−t))', () => {
    expect(partialReturn([1, 0, 0], 0.5).weighted).toBeCloseTo(0.25);
    expect(partialReturn([0, 0, 1], 0.5).weighted).toBeCloseTo(1);
    const t = partialReturnTeacher(teacherPreset('myopic'));
    // left has more total return but it comes early; γ = 0.9: 1.2·0.81 = 0.972 < 1
    expect(t.label([1.2, 0, 0], [0, 0, 1], new Rng(0))).toBe('right');
    expect(partialReturnTeacher(teacherPreset('oracle')).label([1.2, 0, 0], [0, 0, 1], new Rng(0))).toBe('left');
  });

  it('has the six presets of B-Pref', () => {
    for (const p of TEACHER_PRESETS) expect(TeacherConfigSchema.parse(teacherPreset(p, 10))).toBeTruthy();
    expect(teacherPreset('mistake').mistake).toBe(0.1);
    expect(teacherPreset('skip', 10).skip).toBeCloseTo(1);
  });

  it('names the bad field of a teacher config', () => {
    expect(() => partialReturnTeacher({ mistake: 2 })).toThrow(/mistake/);
    expect(() => partialReturnTeacher({ gamma: 0 })).toThrow(/gamma/);
  });

  it('is deterministic for a seed', () => {
    const t = partialReturnTeacher({ beta: 1, mistake: 0.2 });
    const run = (seed: number) => {
      const rng = new Rng(seed);
      const out: TeacherLabel[] = [];
      for (let i = 0; i < 50; i++) out.push(t.label([rng.normal()], [rng.normal()], rng));
      return out;
    };
    expect(run(9)).toEqual(run(9));
  });

  it('bprefLabel applies skip before anything else', () => {
    const cfg = TeacherConfigSchema.parse({ skip: 1, equal: 5 });
    expect(bprefLabel({ total: 0, weighted: 0 }, { total: 1, weighted: 1 }, cfg, new Rng(0))).toBe('skip');
  });
});

describe('regret teacher', () => {
  it('computes V*(s0) − (Σr + V*(sT)) and agrees with −ΣA* on a deterministic chain', () => {
    // chain: reward −1 per step, V*(s) = −distance to goal. Going towards goal: A* = 0; away: A* = −2.
    const towards = { rewards: [-1, -1], vStart: -5, vEnd: -3 };
    const away = { rewards: [-1, -1], vStart: -5, vEnd: -7 };
    expect(segmentRegret(towards)).toBeCloseTo(0);
    expect(segmentRegret(away)).toBeCloseTo(4);
    expect(segmentRegret({ ...away, advantages: [-2, -2] })).toBeCloseTo(4);
  });

  it('prefers the lower-regret segment although partial returns are equal', () => {
    const t = regretTeacher();
    const pr = partialReturnTeacher();
    const rng = new Rng(0);
    const a = { rewards: [-1, -1], vStart: -5, vEnd: -3 };
    const b = { rewards: [-1, -1], vStart: -5, vEnd: -7 };
    expect(t.label(a, b, rng)).toBe('left');
    expect(pr.label(a.rewards, b.rewards, rng)).toBe('tie');
  });

  it('Boltzmann regret teacher prefers right with probability σ(β·(regret_l − regret_r))', () => {
    const t = regretTeacher({ beta: 1 });
    const l = { rewards: [0], vStart: 1, vEnd: 0 }; // regret 1
    const r = { rewards: [0], vStart: 0.5, vEnd: 0 }; // regret 0.5
    const p = sigmoid(0.5);
    const got = rate(N, (rng) => t.label(l, r, rng) === 'right');
    expect(Math.abs(got - p)).toBeLessThan(band(p));
  });
});

describe('scripted candidate ranker', () => {
  it('oracle sorts by score and groups the indistinguishable rest', () => {
    const r = scriptedRanker({ equal: 0.05 }).rank([0.1, 0.9, 0.5, 0.12, 0.11], new Rng(0));
    expect(r).toEqual({ groups: [[1], [2], [0, 3, 4]], notComparable: [] });
  });

  it('puts refused candidates last and NaN scores in not-comparable', () => {
    const r = scriptedRanker().rank([-Infinity, 0.3, NaN, 0.5], new Rng(0));
    expect(r).toEqual({ groups: [[3], [1], [0]], notComparable: [2] });
  });

  it('skips a state whose best candidate is at or below the skip threshold', () => {
    expect(scriptedRanker({ skip: 0.5 }).rank([0.1, 0.5], new Rng(0))).toBeNull();
  });

  it('mistake ranker puts a non-best candidate first at rate ≈ ε·(n−1)/n', () => {
    const eps = 0.3;
    const ranker = scriptedRanker({ mistake: eps });
    const r = rate(N, (rng) => ranker.rank([0, 1, 2, 3], rng)!.groups[0]![0] !== 3);
    const p = (eps * 3) / 4;
    expect(Math.abs(r - p)).toBeLessThan(band(p));
  });

  it('Boltzmann ranker picks first with Plackett–Luce probability', () => {
    const ranker = scriptedRanker({ beta: 2 });
    const s = [0, 0.5, 1];
    const z = s.reduce((a, v) => a + Math.exp(2 * v), 0);
    const p = Math.exp(2 * 1) / z;
    const r = rate(N, (rng) => ranker.rank(s, rng)!.groups[0]![0] === 2);
    expect(Math.abs(r - p)).toBeLessThan(band(p));
  });
});
