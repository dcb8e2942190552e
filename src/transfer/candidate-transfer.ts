// Candidate-level cross-task transfer: (state, candidate) items, within-state pairs, a GW coupling, labels.
import { FieldError } from '../core/index.ts';
import type { MatmulKernel } from './dense.ts';
import { entropicGromovWasserstein, entropicGwMode, type GwResult } from './entropic-gw.ts';
import { type IndexedPreference, type TransferredPreference, transferPreferences } from './label-transfer.ts';
import { crossSegmentDistances, euclideanSegmentDistances, type StateSequence } from './trajectory-distance.ts';

/**
 * One task's candidate items: `rows` `[count, dim]` row-major feature rows (one per state-candidate
 * pair, e.g. candidateFeatures of src/preference), `group[i]` the state item i was proposed at.
 */
export interface CandidateItems {
  rows: Float64Array;
  dim: number;
  group: Int32Array;
}

/**
 * Options of {@link transferCandidateLabels}.
 * @default epsilon 0.01; alpha 0.5; maxIter 1000
 */
export interface CandidateTransferOptions {
  /** Entropic regulariser (costs are scaled to max 1). */
  epsilon?: number;
  /** Structure weight of fused GW: 1 = plain GW (PEARL CPA), 0 = OT on the shared columns alone. */
  alpha?: number;
  /** Columns both tasks share (`sourceColumns[c]` of a source row is comparable with `targetColumns[c]` of a target row); needed when alpha < 1. */
  sourceColumns?: readonly number[];
  targetColumns?: readonly number[];
  maxIter?: number;
  /** POT 0.8.2's exact iterates instead of the fast solver (FAST_ENTROPIC_GW). @default false */
  exact?: boolean;
  /** The fast solver's f32 product kernel (EntropicGwOptions.productKernel). */
  productKernel?: MatmulKernel;
}

/** The coupling and the labels of every within-state target pair. */
export interface CandidateTransfer {
  gw: GwResult;
  /** Target pairs (first < second, same state), in the order of `labels`. */
  pairs: [number, number][];
  labels: TransferredPreference[];
}

/** Checks a task's items: row count matches the group, numbers finite; returns the item count. */
export function assertCandidateItems(name: string, items: CandidateItems): number {
  const { rows, dim, group } = items;
  if (!(Number.isInteger(dim) && dim > 0)) throw new FieldError(`${name}.dim`, 'a positive integer', dim);
  if (rows.length % dim !== 0) throw new FieldError(`${name}.rows`, `a multiple of dim = ${dim} numbers`, rows.length);
  const n = rows.length / dim;
  if (n < 2) throw new FieldError(`${name}.rows`, 'at least 2 items', n);
  if (group.length !== n) throw new FieldError(`${name}.group`, `one state index per item (${n})`, group.length);
  for (let i = 0; i < rows.length; i++)
    if (!Number.isFinite(rows[i])) throw new FieldError(`${name}.rows[${Math.floor(i / dim)}][${i % dim}]`, 'a finite number', rows[i]);
  return n;
}

/** Every unordered pair (i, j), i < j, of items proposed at the same state: the pairs RAS compares. */
export function withinGroupPairs(group: Int32Array): [number, number][] {
  const byGroup = new Map<number, number[]>();
  group.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  const out: [number, number][] = [];
  for (const list of byGroup.values())
    for (let a = 0; a < list.length; a++) for (let b = a + 1; b < list.length; b++) out.push([list[a]!, list[b]!]);
  return out;
}

/** Items as one-state sequences, so the segment distances apply unchanged. */
function asSequences(items: CandidateItems): StateSequence[] {
  const n = items.rows.length / items.dim;
  return Array.from({ length: n }, (_, i) => ({ states: items.rows.subarray(i * items.dim, (i + 1) * items.dim), steps: 1, dim: items.dim }));
}

/**
 * Labels every within-state pair of target candidates from labelled source candidate pairs.
 * Intra-task cost: Euclidean distance between rows standardised per task, scaled to max 1; with
 * alpha < 1 the cross-task cost is the distance on the shared columns (unstandardised, so the
 * shared scale is kept), scaled to max 1. Uniform marginals; labels in the normalised form of
 * `transferPreferences`.
 */
export function transferCandidateLabels(
  source: CandidateItems,
  sourcePrefs: readonly IndexedPreference[],
  target: CandidateItems,
  o: CandidateTransferOptions = {},
): CandidateTransfer {
  const M = assertCandidateItems('source', source);
  const N = assertCandidateItems('target', target);
  const alpha = o.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new FieldError('alpha', 'a number in [0, 1]', alpha);
  if (sourcePrefs.length === 0) throw new FieldError('sourcePrefs', 'at least one labelled source pair', 0);
  const S = asSequences(source), T = asSequences(target);
  let featureCost: Float64Array | undefined;
  if (alpha < 1) {
    const sc = o.sourceColumns ?? [], tc = o.targetColumns ?? [];
    if (sc.length === 0 || sc.length !== tc.length)
      throw new FieldError('sourceColumns/targetColumns', 'the same non-zero number of shared columns (alpha < 1)', `${sc.length} and ${tc.length}`);
    sc.forEach((c, k) => {
      if (!(Number.isInteger(c) && c >= 0 && c < source.dim)) throw new FieldError(`sourceColumns[${k}]`, `a column in [0, ${source.dim})`, c);
    });
    tc.forEach((c, k) => {
      if (!(Number.isInteger(c) && c >= 0 && c < target.dim)) throw new FieldError(`targetColumns[${k}]`, `a column in [0, ${target.dim})`, c);
    });
    featureCost = crossSegmentDistances(S, T, sc, tc);
  }
  const gw = entropicGromovWasserstein(
    { C1: euclideanSegmentDistances(S), C2: euclideanSegmentDistances(T), p: new Float64Array(M).fill(1 / M), q: new Float64Array(N).fill(1 / N) },
    { ...entropicGwMode(o.exact ?? false), epsilon: o.epsilon ?? 0.01, maxIter: o.maxIter ?? 1000, productKernel: o.productKernel, ...(featureCost ? { featureCost, alpha } : {}) },
  );
  const pairs = withinGroupPairs(target.group);
  return { gw, pairs, labels: transferPreferences(gw.T, M, N, sourcePrefs, pairs) };
}
