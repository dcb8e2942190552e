import { describe, expect, it } from 'vitest';
import { RankingSchema, type Ranking } from '../../src/core/preference.ts';
import { rankingToPairs } from '../../src/preference/pairs.ts';

const base = { kind: 'ranking', stateId: 's1', annotator: 'a', source: 'human', time: 0 } as const;
const mk = (r: Partial<Ranking> & { candidateCount: number; groups: number[][] }): Ranking => RankingSchema.parse({ ...base, ...r });
const pairsOf = (r: Ranking, maxPairs?: number) =>
  rankingToPairs(r, maxPairs === undefined ? {} : { maxPairs }).pairs.map((p) => `${p.winner}>${p.loser}`);

describe('rankingToPairs', () => {
  it('expands a strict order best-of-remaining, widest gap first', () => {
    // 2 ≻ 0 ≻ 1 ≻ 3
    expect(pairsOf(mk({ candidateCount: 4, groups: [[2], [0], [1], [3]] }))).toEqual([
      '2>3', // d = 3
      '2>1', '0>3', // d = 2
      '2>0', '0>1', '1>3', // d = 1
    ]);
  });

  it('makes every sorted candidate beat the "rest" group and keeps ties out of the pairs', () => {
    // annotator sorted 5 then 1, the rest {0, 2, 3, 4} hard to distinguish
    const e = rankingToPairs(mk({ candidateCount: 6, groups: [[5], [1], [0, 2, 3, 4]] }));
    expect(e.pairs.map((p) => `${p.winner}>${p.loser}`)).toEqual([
      '5>0', '5>2', '5>3', '5>4', // d = 2: sorted ≻ rest
      '5>1', '1>0', '1>2', '1>3', '1>4', // d = 1
    ]);
    expect(e.ties).toEqual([[0, 2], [0, 3], [0, 4], [2, 3], [2, 4], [3, 4]]);
    expect(e.pairs.some((p) => p.winner === p.loser)).toBe(false);
  });

  it('adds ideal ≻ every candidate only when the annotator says it beats all', () => {
    const ideal = { kind: 'pick_place' as const, a: [0, 0, 0.05] as [number, number, number], b: [0.1, 0, 0.02] as [number, number, number] };
    const yes = rankingToPairs(mk({ candidateCount: 3, groups: [[1], [0, 2]], ideal, idealBeatsAll: true }));
    expect(yes.pairs.filter((p) => p.winner === 'ideal').map((p) => p.loser)).toEqual([1, 0, 2]);
    const no = rankingToPairs(mk({ candidateCount: 3, groups: [[1], [0, 2]], ideal, idealBeatsAll: false }));
    expect(no.pairs.some((p) => p.winner === 'ideal')).toBe(false);
  });

  it('keeps not-comparable candidates as records, never in a pair', () => {
    const e = rankingToPairs(mk({ candidateCount: 4, groups: [[3], [1]], notComparable: [0, 2] }));
    expect(e.notComparable).toEqual([0, 2]);
    expect(e.pairs.map((p) => `${p.winner}>${p.loser}`)).toEqual(['3>1']);
  });

  it('caps candidate pairs keeping the widest gaps (DeformPAM K = 16)', () => {
    const r = mk({ candidateCount: 8, groups: [[0], [1], [2], [3], [4], [5], [6], [7]] });
    const all = pairsOf(r);
    expect(all).toHaveLength(28);
    expect(pairsOf(r, 16)).toEqual(all.slice(0, 16));
    expect(pairsOf(r, 16)[0]).toBe('0>7');
  });

  it('gives no pairs for a single tied group', () => {
    const e = rankingToPairs(mk({ candidateCount: 3, groups: [[0, 1, 2]] }));
    expect(e.pairs).toEqual([]);
    expect(e.ties).toHaveLength(3);
  });

  it.each([
    [{ candidateCount: 3, groups: [[0], [3]] }, /candidate index: expected 0\.\.2, received 3/],
    [{ candidateCount: 3, groups: [[0], [0]] }, /each index at most once, received 0/],
    [{ candidateCount: 3, groups: [[1]], notComparable: [1] }, /at most once/],
  ])('refuses a bad ranking naming the index (%#)', (r, msg) => {
    expect(() => rankingToPairs(mk(r))).toThrow(msg);
  });
});
