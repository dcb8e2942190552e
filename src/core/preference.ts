// Preference records: candidate rankings of one state and segment-pair labels, with provenance.
import { z } from 'zod';
import { PrimitiveSchema } from './primitive.ts';

export const PreferenceSourceSchema = z.enum(['human', 'scripted', 'transferred']);
export type PreferenceSource = z.infer<typeof PreferenceSourceSchema>;

/** Where a human label was given in the annotation app (absent for scripted and transferred labels). */
export const AnnotationMetaSchema = z.strictObject({
  itemId: z.string().min(1),
  /** When the item was assigned to the annotator, ms since the epoch; null when unknown (no lease). */
  assignedAt: z.number().int().nullable(),
  /** How long the annotator took, as their client measured it, ms. */
  durationMs: z.number().int().nonnegative().nullable(),
  /** What sent the answer (the browser's user agent). */
  client: z.string().nullable(),
  /** The clips were shown right/left; the label above is already in the item's (left, right) order. */
  shownSwapped: z.boolean().default(false),
  strength: z.enum(['slight', 'clear']).optional(),
  flag: z.strictObject({ reason: z.string(), comment: z.string() }).optional(),
  /** A reviewer's label settling the annotators' disagreement on this item (it stands for their answers in training data). */
  settled: z
    .strictObject({ by: z.string().min(1), at: z.number().int(), note: z.string().nullable(), answers: z.number().int().nonnegative() })
    .optional(),
  /** An annotator's original answer to an item a reviewer settled (exported only when asked; training uses the settled record). */
  original: z.boolean().optional(),
});
export type AnnotationMeta = z.infer<typeof AnnotationMetaSchema>;

const Provenance = {
  annotator: z.string().min(1),
  source: PreferenceSourceSchema,
  /** Milliseconds since the epoch. */
  time: z.number().int().nonnegative(),
  annotation: AnnotationMetaSchema.optional(),
};

/**
 * A ranking of one state's candidates: `groups` are candidate indices from best to worst; indices in
 * one group are tied. `notComparable` lists candidates the annotator could not place. `ideal` is an
 * annotator-drawn action; `idealBeatsAll` says it is better than every candidate.
 */
export const RankingSchema = z.strictObject({
  kind: z.literal('ranking'),
  stateId: z.string().min(1),
  candidateCount: z.number().int().positive(),
  groups: z.array(z.array(z.number().int().nonnegative()).min(1)),
  notComparable: z.array(z.number().int().nonnegative()).default([]),
  ideal: PrimitiveSchema.optional(),
  idealBeatsAll: z.boolean().default(false),
  ...Provenance,
});
export type Ranking = z.infer<typeof RankingSchema>;

/** left/right: that segment is better; tie: equally good; cant_tell: no judgement (never 0.5). */
export const SegmentLabelSchema = z.enum(['left', 'right', 'tie', 'cant_tell']);
export type SegmentLabel = z.infer<typeof SegmentLabelSchema>;

export const SegmentPairSchema = z.strictObject({
  kind: z.literal('segment_pair'),
  left: z.string().min(1),
  right: z.string().min(1),
  label: SegmentLabelSchema,
  /** Confidence in [0, 1], for transferred labels. */
  confidence: z.number().min(0).max(1).optional(),
  ...Provenance,
});
export type SegmentPair = z.infer<typeof SegmentPairSchema>;

/** P(first preferred) for a segment label; null where the label carries no preference. */
export function segmentLabelProbability(label: SegmentLabel): number | null {
  switch (label) {
    case 'left':
      return 1;
    case 'right':
      return 0;
    case 'tie':
      return 0.5;
    case 'cant_tell':
      return null;
  }
}
