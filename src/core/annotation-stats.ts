// The figures of `pamstack store stats`: computed by src/store/stats.ts, sent by the server's `stats`
// reply and drawn by the admin view, so the three read one shape.

export interface ItemAgreement {
  itemId: string;
  kind: 'rank' | 'compare';
  gold: boolean;
  answers: number;
  /**
   * compare: share of the majority label among left/right/tie answers (can't-tell excluded);
   * rank: mean over annotator pairs of the share of candidate pairs both ordered the same way.
   * null with fewer than two usable answers.
   */
  agreement: number | null;
  /** compare only: label counts. */
  labels?: Record<string, number>;
  /** A reviewer settled this item's disagreement (its settled label is what the export gives). */
  settled?: boolean;
}

export interface AnnotatorStats {
  annotator: string;
  submitted: number;
  skipped: number;
  retracted: number;
  medianDurationMs: number | null;
  /** Gold items answered and the mean score against the known answer (compare: exact label; rank: pair concordance). */
  gold: { answered: number; accuracy: number | null };
  /** Mean agreement with the other annotators on shared items (same measures as ItemAgreement). */
  agreement: number | null;
  /**
   * Krippendorff's α (as rankAlpha) over the candidates of the rank items this annotator answered,
   * with every annotator's values for them: how reliable the rankings are where this person took
   * part. null when none of their rankings shares a candidate with another annotator's.
   */
  rankAlpha: number | null;
  cantTell: number;
  /** Submitted answers per UTC day (YYYY-MM-DD). */
  perDay: Record<string, number>;
}

/** The queue now: items by status (gold items apart) and the leases held. */
export interface QueueStats {
  open: number;
  complete: number;
  retired: number;
  gold: number;
  leased: number;
  flagged: number;
}

/** Disagreements for the reviewers: items (not gold) with two or more answers that do not all agree. */
export interface ReviewStats {
  disagreements: number;
  /** Of those, settled by a reviewer. */
  settled: number;
  /** Still to settle. */
  open: number;
}

export interface AgreementStats {
  queue: QueueStats;
  items: ItemAgreement[];
  annotators: AnnotatorStats[];
  /** Mean of the items' agreement where defined. */
  meanItemAgreement: number | null;
  /**
   * Krippendorff's α (interval metric) over the rankings: each candidate of a ranked state is a unit,
   * each annotator's value its fractional rank position in [0, 1]; not-comparable candidates are
   * missing. 1 = perfect agreement, 0 = chance, below 0 = systematic disagreement; null without
   * any candidate ranked by two annotators.
   */
  rankAlpha: number | null;
  review: ReviewStats;
}
