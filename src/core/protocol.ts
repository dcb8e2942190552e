// The WebSocket protocol of `pamstack serve`: zod schemas shared by server and browser, and the binary live frame.
import { z } from 'zod';
import { CandidateSchema, MetricsSchema } from './episode.ts';
import { Vec3Schema, WorkspaceBoxSchema } from './geometry.ts';
import { TaskGoalSchema } from './goal.ts';
import { SegmentLabelSchema } from './preference.ts';
import { PrimitiveKindSchema, PrimitiveSchema } from './primitive.ts';
import { TaskNameSchema } from './task.ts';

/** 2: adds the binary motion frame (type 2) to the live view. */
export const PROTOCOL_VERSION = 2;

/** Largest client→server frame, bytes: a ranking of 32 candidates with an ideal action fits in ~2 KiB. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Roles

/** reviewer: settles disagreements between annotators; robot: a robot cell's token, which may only add items. */
export const ROLES = ['admin', 'annotator', 'operator', 'reviewer', 'robot'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

// ---------------------------------------------------------------------------------------------
// Items the annotators see

/** Base64 of little-endian bytes (standard alphabet, padded). */
const Base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'expected base64' });

/** A cloud on the wire: `points` = base64 of Float32 LE xyz ([n, 3], metres, table frame); `rgb` = base64 of Uint8 [n, 3]. */
export const CloudDataSchema = z.strictObject({
  n: z.number().int().nonnegative().max(1_000_000),
  points: Base64Schema,
  rgb: Base64Schema.optional(),
});
export type CloudData = z.infer<typeof CloudDataSchema>;

const ItemIdSchema = z.string().min(1).max(200);
export const MAX_CANDIDATES = 32;
/** Longest guidelines text, characters. */
export const MAX_GUIDELINES_CHARS = 20_000;

/** A state to rank: its cloud and the N candidate primitives (scores are shown only when given). */
export const RankItemSchema = z.strictObject({
  kind: z.literal('rank'),
  id: ItemIdSchema,
  stateId: z.string().min(1).max(200),
  task: TaskNameSchema,
  primitive: PrimitiveKindSchema,
  cloud: CloudDataSchema,
  candidates: z.array(CandidateSchema).min(2).max(MAX_CANDIDATES),
  workspace: WorkspaceBoxSchema.optional(),
  /** The task's goal, drawn with the cloud so "better" is judged against it. */
  goal: TaskGoalSchema.optional(),
});
export type RankItem = z.infer<typeof RankItemSchema>;

/** One frame of a trajectory clip: time (s), the object cloud and the gripper position (and whether it holds). */
export const SegmentFrameSchema = z.strictObject({
  t: z.number().finite(),
  cloud: CloudDataSchema,
  gripper: Vec3Schema.optional(),
  grasp: z.boolean().optional(),
});

/** A trajectory segment: the clip the annotator watches; `id` is what SegmentPair.left/right name. */
export const SegmentSchema = z.strictObject({
  id: z.string().min(1).max(200),
  task: TaskNameSchema,
  frames: z.array(SegmentFrameSchema).min(1).max(2000),
});
export type Segment = z.infer<typeof SegmentSchema>;

/** A pair of segments to compare. */
export const CompareItemSchema = z.strictObject({
  kind: z.literal('compare'),
  id: ItemIdSchema,
  task: TaskNameSchema,
  left: SegmentSchema,
  right: SegmentSchema,
  workspace: WorkspaceBoxSchema.optional(),
  goal: TaskGoalSchema.optional(),
});
export type CompareItem = z.infer<typeof CompareItemSchema>;

export const ItemSchema = z.discriminatedUnion('kind', [RankItemSchema, CompareItemSchema]);
export type Item = z.infer<typeof ItemSchema>;
export const ITEM_KINDS = ['rank', 'compare'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Answers

const IndexSchema = z.number().int().nonnegative().max(MAX_CANDIDATES - 1);

/** An annotator's flag on an item (a broken clip, a goal that does not fit), with a comment for the reviewers. */
export const AnswerFlagSchema = z.strictObject({
  reason: z.enum(['broken', 'unclear', 'other']),
  comment: z.string().max(500).default(''),
});
export type AnswerFlag = z.infer<typeof AnswerFlagSchema>;

/**
 * A ranking answer: `groups` best first, tied indices share a group; unplaced candidates are the
 * annotator's "rest are indistinguishable" and are not listed. Range checks against the item's
 * candidate count happen in the store.
 */
export const RankAnswerSchema = z.strictObject({
  kind: z.literal('rank'),
  groups: z.array(z.array(IndexSchema).min(1).max(MAX_CANDIDATES)).min(1).max(MAX_CANDIDATES),
  notComparable: z.array(IndexSchema).max(MAX_CANDIDATES).default([]),
  ideal: PrimitiveSchema.optional(),
  idealBeatsAll: z.boolean().default(false),
  flag: AnswerFlagSchema.optional(),
});
export type RankAnswer = z.infer<typeof RankAnswerSchema>;

export const CompareAnswerSchema = z.strictObject({
  kind: z.literal('compare'),
  label: SegmentLabelSchema,
  /** How strong a left/right preference is. */
  strength: z.enum(['slight', 'clear']).optional(),
  flag: AnswerFlagSchema.optional(),
});
export type CompareAnswer = z.infer<typeof CompareAnswerSchema>;

export const AnswerSchema = z.discriminatedUnion('kind', [RankAnswerSchema, CompareAnswerSchema]);
export type Answer = z.infer<typeof AnswerSchema>;

// ---------------------------------------------------------------------------------------------
// Review: disagreements between annotators and the label a reviewer settles them with

/** Longest reviewer note, characters. */
export const MAX_NOTE_CHARS = 500;

export const SettlementSchema = z.strictObject({ label: AnswerSchema, reviewer: z.string(), note: z.string().nullable(), at: z.number().int() });
export type Settlement = z.infer<typeof SettlementSchema>;

export const DisagreementSchema = z.strictObject({
  itemId: ItemIdSchema,
  kind: z.enum(ITEM_KINDS),
  task: z.string(),
  answers: z.number().int(),
  agreement: z.number(),
  disagreement: z.number(),
  labels: z.record(z.string(), z.number().int()).optional(),
  originals: z.array(
    z.strictObject({ answerId: z.number().int(), annotator: z.string(), answer: AnswerSchema, createdAt: z.number().int(), durationMs: z.number().int().nullable() }),
  ),
  settled: SettlementSchema.nullable(),
  replaced: z.array(SettlementSchema),
});
export type Disagreement = z.infer<typeof DisagreementSchema>;

// ---------------------------------------------------------------------------------------------
// Client → server (JSON text frames)

/** Request id chosen by the client, echoed in the reply. */
const ReqId = z.number().int().nonnegative().max(2 ** 31);
/** Client-generated id of a submission: a retry with the same id is stored once. */
export const ClientIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, {
  message: 'expected 8–64 characters of A–Z a–z 0–9 _ -',
});

export const ClientMessageSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('auth'), id: ReqId, token: z.string().min(16).max(256) }),
  z.strictObject({ op: z.literal('ping'), id: ReqId }),
  z.strictObject({
    op: z.literal('next'),
    id: ReqId,
    /** How many new items to lease (prefetch). */
    count: z.number().int().min(1).max(5),
    /** Item ids the client already holds (they are not sent again). */
    have: z.array(ItemIdSchema).max(20).default([]),
    kinds: z.array(z.enum(ITEM_KINDS)).min(1).max(2).optional(),
  }),
  z.strictObject({
    op: z.literal('submit'),
    id: ReqId,
    clientId: ClientIdSchema,
    itemId: ItemIdSchema,
    answer: AnswerSchema,
    durationMs: z.number().int().nonnegative().max(86_400_000),
  }),
  z.strictObject({ op: z.literal('skip'), id: ReqId, clientId: ClientIdSchema, itemId: ItemIdSchema, flag: AnswerFlagSchema.optional() }),
  /** Retracts one's own submission or skip named by its client id. */
  z.strictObject({ op: z.literal('undo'), id: ReqId, clientId: ClientIdSchema }),
  z.strictObject({ op: z.literal('progress'), id: ReqId }),
  /**
   * Subscribes to live frames. With `ack`, the client acknowledges each frame it has drawn (`live.ack`)
   * and the server keeps at most LIVE_WINDOW frames unacknowledged: a slow renderer then never builds
   * a backlog anywhere between the two (socket buffers, the browser's message queue).
   */
  z.strictObject({ op: z.literal('live'), id: ReqId, subscribe: z.boolean(), ack: z.boolean().default(false) }),
  /** The newest frame seq the client has drawn (covers every older one). Not answered unless malformed. */
  z.strictObject({ op: z.literal('live.ack'), id: ReqId, seq: z.number().int().nonnegative().max(2 ** 32 - 1) }),
  z.strictObject({ op: z.literal('teleop.check'), id: ReqId, primitive: PrimitiveSchema }),
  z.strictObject({ op: z.literal('teleop.execute'), id: ReqId, clientId: ClientIdSchema, primitive: PrimitiveSchema }),
  /** engaged: true latches the e-stop; false resets it. */
  z.strictObject({ op: z.literal('estop'), id: ReqId, engaged: z.boolean() }),
  z.strictObject({ op: z.literal('stats'), id: ReqId }),
  /** The annotation guidelines of a task (what "better" means there). */
  z.strictObject({ op: z.literal('guidelines'), id: ReqId, task: TaskNameSchema }),
  /** Replaces the guidelines of a task's family (admins). */
  z.strictObject({ op: z.literal('guidelines.set'), id: ReqId, task: TaskNameSchema, markdown: z.string().min(1).max(MAX_GUIDELINES_CHARS) }),
  /** The items whose annotators disagree, each with every original answer (reviewers, admins). */
  z.strictObject({ op: z.literal('disagreements'), id: ReqId, includeSettled: z.boolean().default(false) }),
  /** One item as the annotators saw it (in its own left/right order), for review. */
  z.strictObject({ op: z.literal('review.item'), id: ReqId, itemId: ItemIdSchema }),
  /** Settles a disagreement with a label (an answer to the item); settling again replaces it. */
  z.strictObject({ op: z.literal('settle'), id: ReqId, itemId: ItemIdSchema, label: AnswerSchema, note: z.string().max(MAX_NOTE_CHARS).optional() }),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ClientOp = ClientMessage['op'];

// ---------------------------------------------------------------------------------------------
// Server → client (JSON text frames; live clouds are binary, below)

export const ERROR_CODES = [
  'invalid',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'busy',
  'refused',
  'estop',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorMessageSchema = z.strictObject({
  op: z.literal('error'),
  id: ReqId.nullable(),
  code: z.enum(ERROR_CODES),
  /** The offending field as a dotted path (`answer.label`), `(frame)` for the frame itself, null when none. */
  field: z.string().nullable(),
  message: z.string(),
});
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;

export const TeleopStateSchema = z.strictObject({
  op: z.literal('teleop.state'),
  /** The request answered, or null for a broadcast. */
  id: ReqId.nullable(),
  available: z.boolean(),
  estop: z.boolean(),
  estopBy: z.string().nullable(),
  busy: z.boolean(),
  task: TaskNameSchema.nullable(),
  primitive: PrimitiveKindSchema.nullable(),
  workspace: WorkspaceBoxSchema.nullable(),
  goal: TaskGoalSchema.nullable().default(null),
});
export type TeleopState = z.infer<typeof TeleopStateSchema>;

export const ProgressSchema = z.strictObject({
  op: z.literal('progress'),
  id: ReqId.nullable(),
  mine: z.strictObject({ submitted: z.number().int(), skipped: z.number().int(), today: z.number().int() }),
  queue: z.strictObject({
    total: z.number().int(),
    complete: z.number().int(),
    /** Items this user could still be given. */
    available: z.number().int(),
  }),
});
export type Progress = z.infer<typeof ProgressSchema>;

export const ServerMessageSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('welcome'),
    id: ReqId,
    protocol: z.literal(PROTOCOL_VERSION),
    user: z.strictObject({ name: z.string(), role: RoleSchema }),
  }),
  z.strictObject({ op: z.literal('pong'), id: ReqId, time: z.number() }),
  z.strictObject({
    op: z.literal('items'),
    id: ReqId,
    items: z.array(ItemSchema),
    leaseMs: z.number().int(),
    /** Least time a clip pair must be watched before its answer is accepted ('shorter-clip': one play of the shorter clip; ms). */
    minWatch: z.union([z.literal('shorter-clip'), z.number().int().nonnegative()]).default('shorter-clip'),
  }),
  z.strictObject({
    op: z.literal('ack'),
    id: ReqId,
    clientId: ClientIdSchema,
    answerId: z.number().int(),
    /** True when this client id had already been stored (a retry). */
    duplicate: z.boolean(),
  }),
  z.strictObject({ op: z.literal('undone'), id: ReqId, clientId: ClientIdSchema, itemId: ItemIdSchema }),
  ProgressSchema,
  z.strictObject({ op: z.literal('live'), id: ReqId, subscribed: z.boolean() }),
  TeleopStateSchema,
  z.strictObject({ op: z.literal('teleop.verdict'), id: ReqId, ok: z.boolean(), reason: z.string().nullable() }),
  z.strictObject({
    op: z.literal('teleop.result'),
    id: ReqId,
    clientId: ClientIdSchema,
    duration: z.number(),
    wall: z.number(),
    metrics: MetricsSchema,
    /** The e-stop stopped the primitive partway; the arm stayed where it was. */
    aborted: z.boolean().default(false),
  }),
  z.strictObject({ op: z.literal('stats'), id: ReqId, stats: z.unknown() }),
  z.strictObject({ op: z.literal('disagreements'), id: ReqId, disagreements: z.array(DisagreementSchema) }),
  z.strictObject({ op: z.literal('review.item'), id: ReqId, item: ItemSchema }),
  z.strictObject({ op: z.literal('settled'), id: ReqId, itemId: ItemIdSchema, settlement: SettlementSchema }),
  z.strictObject({
    op: z.literal('guidelines'),
    id: ReqId,
    task: TaskNameSchema,
    family: z.enum(['rope', 'granular', 'cloth']),
    markdown: z.string(),
    /** `repo`: docs/guidelines/<family>.md; `admin`: edited in the app. */
    source: z.enum(['repo', 'admin']),
    updatedBy: z.string().nullable(),
    updatedAt: z.number().nullable(),
  }),
  ErrorMessageSchema,
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type ServerOp = ServerMessage['op'];

/** The field a zod issue names: its dotted path, or the unknown key for `unrecognized_keys`. */
export function issueField(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys.length) path.push(issue.keys[0]!);
  return path.length ? path.join('.') : '(frame)';
}

// ---------------------------------------------------------------------------------------------
// Cloud data (base64) helpers: Node has Buffer, the browser has atob/btoa.

/** Base64 of the bytes a typed array views. */
export function bytesToBase64(a: ArrayBufferView): string {
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const B = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: string): string } } }).Buffer;
  if (B) return B.from(u8).toString('base64');
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of a base64 string, in a fresh (aligned) ArrayBuffer. */
export function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A cloud ([n, 3] Float32 xyz, optional Uint8 rgb) as wire data. */
export function cloudToData(points: Float32Array, rgb?: Uint8Array): CloudData {
  const n = Math.floor(points.length / 3);
  return rgb ? { n, points: bytesToBase64(points), rgb: bytesToBase64(rgb) } : { n, points: bytesToBase64(points) };
}

/** Wire data back to typed arrays (copies); checks the byte counts against `n`. */
export function cloudFromData(d: CloudData): { points: Float32Array; rgb?: Uint8Array } {
  const pb = base64ToBytes(d.points);
  if (pb.byteLength !== d.n * 12) throw new Error(`cloud.points: expected ${d.n * 12} bytes for n=${d.n}, received ${pb.byteLength}`);
  const points = new Float32Array(pb.buffer, 0, d.n * 3);
  if (d.rgb === undefined) return { points };
  const rgb = base64ToBytes(d.rgb);
  if (rgb.byteLength !== d.n * 3) throw new Error(`cloud.rgb: expected ${d.n * 3} bytes for n=${d.n}, received ${rgb.byteLength}`);
  return { points, rgb };
}

// ---------------------------------------------------------------------------------------------
// Live frames (server → client, binary): a 32-byte header, JSON metadata, Float32 xyz, optional Uint8 rgb.
//
//   0  u8  type (1 = live cloud)      1  u8  flags (bit 0: rgb, bit 1: replay) 2  u16 version
//   4  u32 seq                        8  f64 sentAt (ms since epoch, server clock)
//  16  f64 stamp (s, sim/ROS time)   24  u32 n (points)                  28  u32 metaBytes
//  32  meta: UTF-8 JSON (LiveMeta), zero-padded to a multiple of 4
//   …  Float32 LE xyz [n, 3]; then, with flag 0, Uint8 rgb [n, 3]
// All little-endian; the xyz block is 4-byte aligned so the browser views it without copying.

export const LIVE_FRAME_TYPE = 1;
/**
 * Frames a client that acknowledges may have in flight (sent, not yet drawn). One: a frame waits for
 * the previous draw, never behind a queue, so latency stays one draw plus one transfer.
 */
export const LIVE_WINDOW = 1;
export const LIVE_HEADER_BYTES = 32;
export const LIVE_FLAG_RGB = 1;
/** The frame is an older one replayed to a client that just subscribed (its age is not a latency). */
export const LIVE_FLAG_REPLAY = 2;

/** What accompanies the live cloud: the decision being made and how the task is going. */
export const LiveMetaSchema = z.strictObject({
  task: TaskNameSchema.optional(),
  primitive: PrimitiveKindSchema.optional(),
  episode: z.number().int().optional(),
  step: z.number().int().optional(),
  candidates: z.array(CandidateSchema).max(256).optional(),
  /** Index into candidates of the chosen action; null when the selector held. */
  chosen: z.number().int().nullable().optional(),
  holdReason: z.string().optional(),
  /** The executed action, when it is not one of the candidates (teleop). */
  action: PrimitiveSchema.optional(),
  metrics: MetricsSchema.optional(),
  workspace: WorkspaceBoxSchema.optional(),
  goal: TaskGoalSchema.optional(),
  source: z.string().optional(),
});
export type LiveMeta = z.infer<typeof LiveMetaSchema>;

export interface LiveFrameView {
  seq: number;
  replay: boolean;
  sentAt: number;
  stamp: number;
  n: number;
  /** Views into the frame's buffer (no copy). */
  points: Float32Array;
  rgb?: Uint8Array;
  meta: LiveMeta;
}

/** Encodes a live frame into one byte array (allocated once, shared by every client). */
export function encodeLiveFrame(
  f: { seq: number; sentAt: number; stamp: number; points: Float32Array; rgb?: Uint8Array; meta: LiveMeta },
): Uint8Array {
  const n = Math.floor(f.points.length / 3);
  if (f.rgb && f.rgb.length !== n * 3) throw new Error(`rgb: expected ${n * 3} bytes (3 per point), received ${f.rgb.length}`);
  const metaBytes = new TextEncoder().encode(JSON.stringify(f.meta));
  const metaPadded = (metaBytes.length + 3) & ~3;
  const total = LIVE_HEADER_BYTES + metaPadded + n * 12 + (f.rgb ? n * 3 : 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, LIVE_FRAME_TYPE);
  dv.setUint8(1, f.rgb ? LIVE_FLAG_RGB : 0);
  dv.setUint16(2, PROTOCOL_VERSION, true);
  dv.setUint32(4, f.seq >>> 0, true);
  dv.setFloat64(8, f.sentAt, true);
  dv.setFloat64(16, f.stamp, true);
  dv.setUint32(24, n, true);
  dv.setUint32(28, metaBytes.length, true);
  out.set(metaBytes, LIVE_HEADER_BYTES);
  const xyzAt = LIVE_HEADER_BYTES + metaPadded;
  out.set(new Uint8Array(f.points.buffer, f.points.byteOffset, n * 12), xyzAt);
  if (f.rgb) out.set(f.rgb.subarray(0, n * 3), xyzAt + n * 12);
  return out;
}

/** A copy of an encoded frame marked as a replay (sent to a client that subscribed after it was published). */
export function replayOf(frame: Uint8Array): Uint8Array {
  const copy = frame.slice();
  copy[1] = copy[1]! | LIVE_FLAG_REPLAY;
  return copy;
}

/** Decodes a live frame; the point arrays view `buf` (which must start 4-byte aligned, as a WebSocket ArrayBuffer does). */
export function decodeLiveFrame(buf: ArrayBuffer): LiveFrameView {
  if (buf.byteLength < LIVE_HEADER_BYTES) throw new Error(`live frame: expected at least ${LIVE_HEADER_BYTES} bytes, received ${buf.byteLength}`);
  const dv = new DataView(buf);
  const type = dv.getUint8(0);
  if (type !== LIVE_FRAME_TYPE) throw new Error(`live frame: expected type ${LIVE_FRAME_TYPE}, received ${type}`);
  const flags = dv.getUint8(1);
  const seq = dv.getUint32(4, true);
  const sentAt = dv.getFloat64(8, true);
  const stamp = dv.getFloat64(16, true);
  const n = dv.getUint32(24, true);
  const metaLen = dv.getUint32(28, true);
  const xyzAt = LIVE_HEADER_BYTES + ((metaLen + 3) & ~3);
  const need = xyzAt + n * 12 + (flags & LIVE_FLAG_RGB ? n * 3 : 0);
  if (buf.byteLength < need) throw new Error(`live frame: expected ${need} bytes for n=${n}, received ${buf.byteLength}`);
  const meta = LiveMetaSchema.parse(JSON.parse(new TextDecoder().decode(new Uint8Array(buf, LIVE_HEADER_BYTES, metaLen))));
  const points = new Float32Array(buf, xyzAt, n * 3);
  const rgb = flags & LIVE_FLAG_RGB ? new Uint8Array(buf, xyzAt + n * 12, n * 3) : undefined;
  const replay = (flags & LIVE_FLAG_REPLAY) !== 0;
  return rgb ? { seq, replay, sentAt, stamp, n, points, rgb, meta } : { seq, replay, sentAt, stamp, n, points, meta };
}

/** The type byte of a binary live-view frame (LIVE_FRAME_TYPE or MOTION_FRAME_TYPE), or -1 when it is empty. */
export function liveFrameType(buf: ArrayBuffer): number {
  return buf.byteLength ? new Uint8Array(buf, 0, 1)[0]! : -1;
}

// ---------------------------------------------------------------------------------------------
// Motion frames (server → client, binary): the object and the tools while a primitive runs, sampled
// from the simulator's state (not the camera) at up to ~15 Hz; a 32-byte header, then Float32 arrays.
//
//   0  u8  type (2 = motion)          1  u8  flags (none yet)           2  u16 version
//   4  u32 seq (shared with the live clouds, so one ack covers both)    8  f64 sentAt (ms since epoch)
//  16  f64 stamp (s, sim time)       24  u32 n (object points)
//  28  u8  k (tools)                 29  u8  holding (bit i: tool i holds)  30  u16 step (primitive index)
//  32  Float32 LE tools [k, 3]; then Float32 LE xyz [n, 3]  (table frame, m)

export const MOTION_FRAME_TYPE = 2;
/** Tools a motion frame carries at most (the holding bits fill one byte). */
export const MAX_MOTION_TOOLS = 8;
/** Object points a motion frame carries at most (a sparse sample; the clouds carry the detail). */
export const MAX_MOTION_POINTS = 16_384;

export interface MotionFrameData {
  seq: number;
  sentAt: number;
  /** Sim time, s. */
  stamp: number;
  /** Index of the running primitive in its episode. */
  step: number;
  /** Object points [n, 3], table frame, m. */
  points: Float32Array;
  /** Tool positions [k, 3], table frame, m. */
  tools: Float32Array;
  /** Per tool: nonzero while it holds the object. */
  holding: ArrayLike<number>;
}

export interface MotionFrameView {
  seq: number;
  sentAt: number;
  stamp: number;
  step: number;
  n: number;
  /** Views into the frame's buffer (no copy). */
  points: Float32Array;
  tools: Float32Array;
  holding: boolean[];
}

/** Encodes a motion frame (allocated once, shared by every client). */
export function encodeMotionFrame(f: MotionFrameData): Uint8Array {
  if (f.points.length % 3 !== 0) throw new Error(`motion points: expected a multiple of 3 floats ([n, 3]), received ${f.points.length}`);
  if (f.tools.length % 3 !== 0) throw new Error(`motion tools: expected a multiple of 3 floats ([k, 3]), received ${f.tools.length}`);
  const n = f.points.length / 3;
  const k = f.tools.length / 3;
  if (n > MAX_MOTION_POINTS) throw new Error(`motion points: expected at most ${MAX_MOTION_POINTS}, received ${n}`);
  if (k > MAX_MOTION_TOOLS) throw new Error(`motion tools: expected at most ${MAX_MOTION_TOOLS}, received ${k}`);
  if (f.holding.length !== k) throw new Error(`motion holding: expected ${k} flags (one per tool), received ${f.holding.length}`);
  if (!Number.isInteger(f.step) || f.step < 0 || f.step > 0xffff) throw new Error(`motion step: expected an integer in [0, 65535], received ${f.step}`);
  const out = new Uint8Array(LIVE_HEADER_BYTES + (k + n) * 12);
  const dv = new DataView(out.buffer);
  let bits = 0;
  for (let i = 0; i < k; i++) if (f.holding[i]) bits |= 1 << i;
  dv.setUint8(0, MOTION_FRAME_TYPE);
  dv.setUint8(1, 0);
  dv.setUint16(2, PROTOCOL_VERSION, true);
  dv.setUint32(4, f.seq >>> 0, true);
  dv.setFloat64(8, f.sentAt, true);
  dv.setFloat64(16, f.stamp, true);
  dv.setUint32(24, n, true);
  dv.setUint8(28, k);
  dv.setUint8(29, bits);
  dv.setUint16(30, f.step, true);
  out.set(new Uint8Array(f.tools.buffer, f.tools.byteOffset, k * 12), LIVE_HEADER_BYTES);
  out.set(new Uint8Array(f.points.buffer, f.points.byteOffset, n * 12), LIVE_HEADER_BYTES + k * 12);
  return out;
}

/** Decodes a motion frame; the arrays view `buf` (which must start 4-byte aligned, as a WebSocket ArrayBuffer does). */
export function decodeMotionFrame(buf: ArrayBuffer): MotionFrameView {
  if (buf.byteLength < LIVE_HEADER_BYTES) throw new Error(`motion frame: expected at least ${LIVE_HEADER_BYTES} bytes, received ${buf.byteLength}`);
  const dv = new DataView(buf);
  const type = dv.getUint8(0);
  if (type !== MOTION_FRAME_TYPE) throw new Error(`motion frame: expected type ${MOTION_FRAME_TYPE}, received ${type}`);
  const n = dv.getUint32(24, true);
  const k = dv.getUint8(28);
  if (n > MAX_MOTION_POINTS) throw new Error(`motion frame: expected at most ${MAX_MOTION_POINTS} points, received n=${n}`);
  if (k > MAX_MOTION_TOOLS) throw new Error(`motion frame: expected at most ${MAX_MOTION_TOOLS} tools, received k=${k}`);
  const need = LIVE_HEADER_BYTES + (k + n) * 12;
  if (buf.byteLength !== need) throw new Error(`motion frame: expected ${need} bytes for n=${n}, k=${k}, received ${buf.byteLength}`);
  const bits = dv.getUint8(29);
  return {
    seq: dv.getUint32(4, true),
    sentAt: dv.getFloat64(8, true),
    stamp: dv.getFloat64(16, true),
    step: dv.getUint16(30, true),
    n,
    tools: new Float32Array(buf, LIVE_HEADER_BYTES, k * 3),
    points: new Float32Array(buf, LIVE_HEADER_BYTES + k * 12, n * 3),
    holding: Array.from({ length: k }, (_, i) => (bits & (1 << i)) !== 0),
  };
}
