// Candidates and primitives as visualization_msgs markers (RViz/Foxglove draw them), and back.
//
// Each marker's `text` carries a small JSON record (decision id, kind, score, verdict) so a bag or a
// subscriber can recover the exact candidates; RViz ignores `text` for arrows and line lists.
import { z } from 'zod';
import { CandidateSchema, type Candidate } from '../core/episode.ts';
import { PRIMITIVE_ORDERED, PrimitiveKindSchema, PrimitiveSchema, type Primitive } from '../core/primitive.ts';
import type { RosMessageCodec } from './cdr-codec.ts';
import { secondsToStamp, stampToSeconds } from '../cloud/pointcloud2.ts';
import { MARKER, type ColorRGBA, type Marker, type MarkerArray } from './ros-messages.ts';

/** Namespaces: candidates of one decision, and a single chosen / executed primitive. */
export const CANDIDATES_NS = 'pamstack/candidates';
export const PRIMITIVE_NS = 'pamstack/primitive';

/** The JSON record in a candidate marker's `text`. */
export const CandidateMetaSchema = z.strictObject({
  decision: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  kind: PrimitiveKindSchema,
  score: z.number().nullable(),
  std: z.number().optional(),
  safe: z.boolean().optional(),
  reason: z.string().optional(),
  chosen: z.boolean(),
});

/** The JSON record in a primitive marker's `text`. */
export const PrimitiveMetaSchema = z.strictObject({
  decision: z.number().int().nonnegative(),
  kind: PrimitiveKindSchema,
  /** Index of the candidate it came from, when it came from one. */
  candidate: z.number().int().nonnegative().optional(),
  score: z.number().optional(),
});
export type PrimitiveMeta = z.infer<typeof PrimitiveMetaSchema>;

export interface MarkerOptions {
  /** Decision counter that links candidates, the chosen primitive and the executor's result. */
  decision: number;
  /** Stamp, seconds (ROS time): the stamp of the cloud the decision was made from. */
  stamp: number;
  /** @default 'table' */
  frame?: string;
  /** Seconds before RViz drops the marker; 0 keeps it. @default 0 */
  lifetime?: number;
}

/**
 * Score → colour: red (worst of the set) through yellow to green (best); grey when unscored.
 * Components are rounded to float32, as ColorRGBA stores them, so a colour survives CDR unchanged.
 */
export function scoreColor(score: number | undefined, lo: number, hi: number, alpha = 1): ColorRGBA {
  const f = Math.fround;
  if (score === undefined || !Number.isFinite(score)) return { r: 0.5, g: 0.5, b: 0.5, a: f(alpha) };
  const t = hi > lo ? Math.min(1, Math.max(0, (score - lo) / (hi - lo))) : 1;
  return t < 0.5 ? { r: 1, g: f(2 * t), b: 0, a: f(alpha) } : { r: f(2 - 2 * t), g: 1, b: 0, a: f(alpha) };
}

/**
 * One DELETEALL marker for the candidates' namespace, then one marker per candidate: an ARROW from a
 * to b for ordered primitives (pick→place, sweep start→end), a LINE_LIST for fling's grasp pair.
 * Colour by score within the set; unsafe candidates are drawn at 30 % opacity.
 */
export function candidatesToMarkerArray(
  codec: RosMessageCodec,
  candidates: readonly Candidate[],
  chosen: number | null,
  o: MarkerOptions,
): MarkerArray {
  const frame = o.frame ?? 'table';
  const stamp = secondsToStamp(o.stamp);
  const lifetime = secondsToStamp(o.lifetime ?? 0);
  const scores = candidates.map((c) => c.score).filter((s): s is number => s !== undefined && Number.isFinite(s));
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const markers: Marker[] = [
    codec.create('visualization_msgs/msg/Marker', {
      header: { stamp, frame_id: frame },
      ns: CANDIDATES_NS,
      action: MARKER.DELETEALL,
    }),
  ];
  candidates.forEach((c, i) => {
    const p = c.primitive;
    const meta: z.infer<typeof CandidateMetaSchema> = {
      decision: o.decision,
      index: i,
      kind: p.kind,
      score: c.score ?? null,
      chosen: chosen === i,
    };
    if (c.scoreStd !== undefined) meta.std = c.scoreStd;
    if (c.safe !== undefined) meta.safe = c.safe;
    if (c.reason !== undefined) meta.reason = c.reason;
    markers.push(primitiveMarker(codec, p, i, scoreColor(c.score, lo, hi, c.safe === false ? 0.3 : 1), chosen === i, {
      stamp,
      frame,
      lifetime,
      ns: CANDIDATES_NS,
      text: JSON.stringify(meta),
    }));
  });
  return { markers };
}

/** A chosen or executed primitive as one marker (namespace `pamstack/primitive`, id = decision). */
export function primitiveToMarker(
  codec: RosMessageCodec,
  p: Primitive,
  meta: Omit<PrimitiveMeta, 'kind'>,
  o: Omit<MarkerOptions, 'decision'>,
): Marker {
  const full: PrimitiveMeta = { ...meta, kind: p.kind };
  return primitiveMarker(codec, p, meta.decision, { r: Math.fround(0.1), g: Math.fround(0.4), b: 1, a: 1 }, true, {
    stamp: secondsToStamp(o.stamp),
    frame: o.frame ?? 'table',
    lifetime: secondsToStamp(o.lifetime ?? 0),
    ns: PRIMITIVE_NS,
    text: JSON.stringify(full),
  });
}

function primitiveMarker(
  codec: RosMessageCodec,
  p: Primitive,
  id: number,
  color: ColorRGBA,
  emphasise: boolean,
  o: { stamp: Marker['header']['stamp']; frame: string; lifetime: Marker['lifetime']; ns: string; text: string },
): Marker {
  const ordered = PRIMITIVE_ORDERED[p.kind];
  const w = emphasise ? 0.012 : 0.006;
  return codec.create('visualization_msgs/msg/Marker', {
    header: { stamp: o.stamp, frame_id: o.frame },
    ns: o.ns,
    id,
    type: ordered ? MARKER.ARROW : MARKER.LINE_LIST,
    action: MARKER.ADD,
    // ARROW with points: x = shaft diameter, y = head diameter, z = head length; LINE_LIST: x = width.
    scale: ordered ? { x: w, y: 2 * w, z: 3 * w } : { x: w, y: 0, z: 0 },
    color,
    lifetime: o.lifetime,
    points: [
      { x: p.a[0], y: p.a[1], z: p.a[2] },
      { x: p.b[0], y: p.b[1], z: p.b[2] },
    ],
    text: o.text,
  });
}

/** A decision read back from a candidates MarkerArray. */
export interface DecodedCandidates {
  decision: number;
  /** Seconds. */
  stamp: number;
  frame: string;
  candidates: Candidate[];
  chosen: number | null;
}

/**
 * Candidates of a MarkerArray written by candidatesToMarkerArray; markers of other namespaces and
 * delete markers are skipped. Throws naming the marker when a candidate marker's record is invalid.
 */
export function markerArrayToCandidates(ma: MarkerArray): DecodedCandidates | null {
  const found: { meta: z.infer<typeof CandidateMetaSchema>; m: Marker }[] = [];
  for (const [i, m] of ma.markers.entries()) {
    if (m.ns !== CANDIDATES_NS || m.action !== MARKER.ADD) continue;
    const meta = parseMeta(CandidateMetaSchema, m.text, `markers[${i}].text`);
    found.push({ meta, m });
  }
  if (found.length === 0) return null;
  found.sort((x, y) => x.meta.index - y.meta.index);
  const first = found[0]!;
  let chosen: number | null = null;
  const candidates = found.map(({ meta, m }, i) => {
    if (meta.index !== i) throw new Error(`candidate markers: expected indices 0…${found.length - 1}, found ${meta.index} at ${i}`);
    if (meta.chosen) chosen = i;
    const c: Candidate = { primitive: markerPoints(m, meta.kind, `candidate ${i}`) };
    if (meta.score !== null) c.score = meta.score;
    if (meta.std !== undefined) c.scoreStd = meta.std;
    if (meta.safe !== undefined) c.safe = meta.safe;
    if (meta.reason !== undefined) c.reason = meta.reason;
    return CandidateSchema.parse(c) as Candidate;
  });
  return {
    decision: first.meta.decision,
    stamp: stampToSeconds(first.m.header.stamp),
    frame: first.m.header.frame_id,
    candidates,
    chosen,
  };
}

/** The primitive and its record from a marker written by primitiveToMarker. */
export function markerToPrimitive(m: Marker): { primitive: Primitive; meta: PrimitiveMeta; stamp: number; frame: string } {
  if (m.ns !== PRIMITIVE_NS) throw new Error(`primitive marker: expected ns ${PRIMITIVE_NS}, received ${JSON.stringify(m.ns)}`);
  const meta = parseMeta(PrimitiveMetaSchema, m.text, 'text');
  return { primitive: markerPoints(m, meta.kind, 'primitive'), meta, stamp: stampToSeconds(m.header.stamp), frame: m.header.frame_id };
}

function markerPoints(m: Marker, kind: Primitive['kind'], what: string): Primitive {
  if (m.points.length !== 2) throw new Error(`${what}: expected 2 points, received ${m.points.length}`);
  const [a, b] = m.points as [Marker['points'][0], Marker['points'][0]];
  const r = PrimitiveSchema.safeParse({ kind, a: [a.x, a.y, a.z], b: [b.x, b.y, b.z] });
  if (!r.success) throw new Error(`${what}: points must be finite (received ${JSON.stringify(m.points)})`);
  return r.data;
}

function parseMeta<S extends z.ZodType>(schema: S, text: string, where: string): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${where}: expected a JSON record, received ${JSON.stringify(text.slice(0, 60))}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
