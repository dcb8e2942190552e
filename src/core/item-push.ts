// The push API's wire format (POST /api/items): queue items a robot sends, and the server's answer.
import { z } from 'zod';
import { ERROR_CODES, ItemSchema } from './protocol.ts';

/** Entries in one push at most. */
export const MAX_PUSH_ITEMS = 64;

/**
 * Largest push body, bytes. A clip pair of 2 × 150 frames of 3,000 points is ~15 MiB of base64;
 * a larger item is refused (413) rather than held in the server's memory.
 */
export const MAX_PUSH_BODY_BYTES = 32 * 1024 * 1024;

const ENTRY_KEYS = 'item, minAnnotations, priority, disagreement';

/**
 * One item to queue with the options a pusher may set. Gold items (a known answer) are not
 * accepted here: an admin queues those with `pamstack store import`.
 */
export const PushEntrySchema = z.strictObject(
  {
    item: ItemSchema,
    /** Submitted answers after which the item leaves the queue. @default 3 (the store's) */
    minAnnotations: z.number().int().min(1).max(1000).optional(),
    /** Higher first, after disagreement. @default 0 */
    priority: z.number().int().min(-1000).max(1000).optional(),
    /** Reward-model disagreement in [0, 1] (rankDisagreement); higher is served first. */
    disagreement: z.number().min(0).max(1).nullable().optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown key; an entry has ${ENTRY_KEYS} (gold items are queued by an admin with pamstack store import)` : undefined) },
);
export type PushEntry = z.infer<typeof PushEntrySchema>;

/** A batch: `{ items: [entry, …] }` (a body without `items` is one entry). */
export const PushBatchSchema = z.strictObject(
  { items: z.array(PushEntrySchema).max(MAX_PUSH_ITEMS) },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown key; a batch is { items: [{ ${ENTRY_KEYS} }, …] }` : undefined) },
);

/** What was stored for one entry: `duplicate` when the same item was there already (a retry). */
export const PushResultSchema = z.strictObject({ id: z.string(), duplicate: z.boolean() });
export type PushResult = z.infer<typeof PushResultSchema>;

/**
 * The server's answer: `results` for the entries stored, in order. On a refusal also `error`, and
 * `index` when one entry caused it: entries before it are stored (their results), it and the rest are not.
 */
export const PushReplySchema = z.strictObject({
  results: z.array(PushResultSchema),
  error: z.strictObject({ code: z.enum(ERROR_CODES), field: z.string().nullable(), message: z.string() }).optional(),
  index: z.number().int().nonnegative().optional(),
});
export type PushReply = z.infer<typeof PushReplySchema>;
