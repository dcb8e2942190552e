import { describe, expect, it } from 'vitest';
import { FieldError, Rng } from '../../src/core/index.ts';
import { type CandidateItems, transferCandidateLabels, withinGroupPairs } from '../../src/transfer/candidate-transfer.ts';
import type { IndexedPreference } from '../../src/transfer/label-transfer.ts';

/** `states` states × `k` candidates; column 0 is the candidate's quality (the teacher's score), the rest context. */
function sourceTask(states: number, k: number, seed: number): { items: CandidateItems; quality: number[]; prefs: IndexedPreference[] } {
  const rng = new Rng(seed);
  const dim = 4;
  const rows = new Float64Array(states * k * dim), group = new Int32Array(states * k), quality: number[] = [];
  for (let s = 0; s < states; s++) {
    const ctx = [rng.normal(), rng.normal()];
    for (let c = 0; c < k; c++) {
      const i = s * k + c, q = rng.uniform(0, 1);
      rows.set([q, ctx[0]!, ctx[1]!, 0.3 * q + 0.1 * rng.normal()], i * dim);
      group[i] = s;
      quality.push(q);
    }
  }
  const prefs: IndexedPreference[] = withinGroupPairs(group).map(([a, b]) => (quality[a]! > quality[b]! ? { first: a, second: b, y: 1 } : { first: b, second: a, y: 1 }));
  return { items: { rows, dim, group }, quality, prefs };
}

describe('transferCandidateLabels', () => {
  it('pairs only candidates of one state', () => {
    expect(withinGroupPairs(Int32Array.from([0, 0, 1, 0, 1]))).toEqual([[0, 1], [0, 3], [1, 3], [2, 4]]);
  });

  it('recovers the labels of a target that is the source shuffled and rescaled', () => {
    const src = sourceTask(12, 5, 3);
    const n = src.quality.length, dim = src.items.dim;
    // target item t is source item perm[t]; context columns rescaled (the shared quality column kept as is)
    const perm = new Rng(9).shuffle(Array.from({ length: n }, (_, i) => i));
    const rows = new Float64Array(n * dim), group = new Int32Array(n);
    perm.forEach((i, t) => {
      const r = src.items.rows.subarray(i * dim, (i + 1) * dim);
      rows.set([r[0]!, 3 * r[1]! + 1, -2 * r[2]!, 5 * r[3]!], t * dim);
      group[t] = src.items.group[i]!;
    });
    for (const alpha of [0.5, 0]) {
      const { labels, pairs } = transferCandidateLabels(src.items, src.prefs, { rows, dim, group }, { alpha, sourceColumns: [0], targetColumns: [0] });
      expect(pairs.length).toBe(12 * 10);
      let ok = 0;
      for (const l of labels) if (l.y > 0.5 === src.quality[perm[l.first]!]! > src.quality[perm[l.second]!]!) ok++;
      expect(ok / labels.length).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('refuses bad items and missing shared columns, naming the field', () => {
    const src = sourceTask(3, 4, 1);
    const bad = { ...src.items, rows: src.items.rows.slice() };
    bad.rows[2 * 4 + 1] = NaN;
    expect(() => transferCandidateLabels(src.items, src.prefs, bad, { alpha: 1 })).toThrow(/target\.rows\[2\]\[1\]/);
    expect(() => transferCandidateLabels(src.items, src.prefs, { ...src.items, group: new Int32Array(3) })).toThrow(/target\.group/);
    expect(() => transferCandidateLabels(src.items, src.prefs, src.items, { alpha: 0.5 })).toThrow(FieldError);
    expect(() => transferCandidateLabels(src.items, [{ first: 0, second: 99, y: 1 }], src.items, { alpha: 1 })).toThrow(/source\[0\]\.second/);
  });
});
