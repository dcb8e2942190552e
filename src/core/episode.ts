// Candidates, steps, episodes and evaluation results: the records the loop produces.
import { z } from 'zod';
import { PrimitiveSchema, type Primitive } from './primitive.ts';

/** Task metrics; each is optional because not every task defines every metric. */
export const MetricsSchema = z.strictObject({
  iou: z.number().optional(),
  coverage: z.number().optional(),
  chamfer: z.number().optional(),
  emd: z.number().optional(),
});
export type Metrics = z.infer<typeof MetricsSchema>;

/** One proposed action with its score and safety verdict. */
export interface Candidate {
  primitive: Primitive;
  /** Reward used for selection (higher is better); undefined before scoring. */
  score?: number;
  /** Score's uncertainty where the reward model gives one (robust reward). */
  scoreStd?: number;
  /** Safety verdict from the filter; `reason` says why when unsafe. */
  safe?: boolean;
  reason?: string;
}
export const CandidateSchema = z.strictObject({
  primitive: PrimitiveSchema,
  score: z.number().optional(),
  scoreStd: z.number().optional(),
  safe: z.boolean().optional(),
  reason: z.string().optional(),
});

/** `pamstack eval --json` output (contract in DESIGN.md). */
export const EvalResultSchema = z.strictObject({
  task: z.string(),
  episodes: z.number().int(),
  seed: z.number().int(),
  success_rate: z.number(),
  mean_steps: z.number(),
  metrics: MetricsSchema,
  /** The resolved decider spec that ran (`pamstack eval --json`), paths relative to the working directory. */
  decider: z.record(z.string(), z.unknown()).optional(),
});
export type EvalResult = z.infer<typeof EvalResultSchema>;
