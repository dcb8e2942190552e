// Demonstration files written by `pamstack collect` and read by the policy trainer: a JSONL index of
// steps plus one binary file of Float32 table-frame clouds (format in docs/collect-format.md).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MetricsSchema, PrimitiveSchema, TaskNameSchema, ValidationError, type Metrics, type Primitive, type PrimitiveKind } from '../src/core/index.ts';

export const DEMO_FORMAT = 'pamstack-demonstrations';
export const DEMO_VERSION = 1;

const Vec6 = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]);

export const DemoMetaSchema = z.strictObject({
  format: z.literal(DEMO_FORMAT),
  version: z.literal(DEMO_VERSION),
  task: TaskNameSchema,
  primitive: z.enum(['pick_place', 'sweep', 'fling']),
  frame: z.literal('table'),
  episodes: z.number().int().min(0),
  seed: z.number().int(),
  steps: z.number().int().min(0),
  pointBudget: z.number().int().min(0),
  maxActions: z.number().int().min(1),
  cloudFile: z.string(),
  created: z.string(),
  camera: z.unknown().optional(),
});
export type DemoMeta = z.infer<typeof DemoMetaSchema>;

/** One JSONL line: a state, its acceptable actions, what ran and what it did. */
export const DemoLineSchema = z.strictObject({
  episode: z.number().int().min(0),
  seed: z.number().int(),
  step: z.number().int().min(0),
  /** Offset and count in points (×12 bytes) into the cloud file. */
  cloud: z.strictObject({ offset: z.number().int().min(0), points: z.number().int().min(0) }),
  /** Acceptable actions [ax, ay, az, bx, by, bz], best first (≤ maxActions). */
  actions: z.array(Vec6).min(1),
  /** Index into `actions` of the one executed. */
  executed: z.number().int().min(0),
  metricsBefore: MetricsSchema,
  metricsAfter: MetricsSchema,
  successAfter: z.boolean(),
  /** Whether the episode ended after this step (success or step limit). */
  done: z.boolean(),
});
export type DemoLine = z.infer<typeof DemoLineSchema>;

/** One decoded demonstration step. `cloud` is [n, 3] xyz float32, table frame, metres. */
export interface DemoStep {
  episode: number;
  seed: number;
  step: number;
  cloud: Float32Array;
  actions: Primitive[];
  executed: Primitive;
  executedIndex: number;
  metricsBefore: Metrics;
  metricsAfter: Metrics;
  successAfter: boolean;
  done: boolean;
}

function toVec6(p: Primitive): [number, number, number, number, number, number] {
  return [p.a[0], p.a[1], p.a[2], p.b[0], p.b[1], p.b[2]];
}

function fromVec6(kind: PrimitiveKind, v: readonly number[]): Primitive {
  return PrimitiveSchema.parse({ kind, a: [v[0], v[1], v[2]], b: [v[3], v[4], v[5]] });
}

/**
 * Writes a demonstration set into `dir` (created if missing; it must not already hold one). Files are
 * written under temporary names and renamed by `close()`, so an interrupted run leaves no half set.
 */
export class DemonstrationWriter {
  readonly dir: string;
  #fd: number;
  #lines: string[] = [];
  #offset = 0;
  #meta: Omit<DemoMeta, 'steps' | 'created' | 'cloudFile' | 'format' | 'version'>;
  #closed = false;

  constructor(dir: string, meta: Omit<DemoMeta, 'steps' | 'created' | 'cloudFile' | 'format' | 'version'>) {
    mkdirSync(dir, { recursive: true });
    if (existsSync(join(dir, 'meta.json'))) throw new Error(`${dir} already holds a demonstration set (meta.json); choose an empty --out`);
    this.dir = dir;
    this.#meta = meta;
    this.#fd = openSync(join(dir, 'clouds.f32.partial'), 'w');
  }

  add(s: Omit<DemoStep, 'executed'> & { executed?: Primitive }): void {
    if (this.#closed) throw new Error('demonstration writer is closed');
    const pts = s.cloud;
    const bytes = new Uint8Array(pts.buffer, pts.byteOffset, pts.byteLength);
    writeSync(this.#fd, littleEndian(bytes));
    const line: DemoLine = {
      episode: s.episode,
      seed: s.seed,
      step: s.step,
      cloud: { offset: this.#offset, points: pts.length / 3 },
      actions: s.actions.map(toVec6),
      executed: s.executedIndex,
      metricsBefore: s.metricsBefore,
      metricsAfter: s.metricsAfter,
      successAfter: s.successAfter,
      done: s.done,
    };
    this.#offset += pts.length / 3;
    this.#lines.push(JSON.stringify(line));
  }

  close(): DemoMeta {
    if (this.#closed) throw new Error('demonstration writer is already closed');
    this.#closed = true;
    closeSync(this.#fd);
    const meta: DemoMeta = {
      format: DEMO_FORMAT,
      version: DEMO_VERSION,
      ...this.#meta,
      steps: this.#lines.length,
      cloudFile: 'clouds.f32',
      created: new Date().toISOString(),
    };
    writeFileSync(join(this.dir, 'steps.jsonl'), this.#lines.length ? `${this.#lines.join('\n')}\n` : '');
    renameSync(join(this.dir, 'clouds.f32.partial'), join(this.dir, 'clouds.f32'));
    writeFileSync(join(this.dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return meta;
  }
}

/** Float32 data are stored little-endian; on a big-endian host the bytes are swapped. */
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (LITTLE) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3]!;
    out[i + 1] = bytes[i + 2]!;
    out[i + 2] = bytes[i + 1]!;
    out[i + 3] = bytes[i]!;
  }
  return out;
}

/**
 * Reads a demonstration set written by `pamstack collect`. Every line is validated; an error names the
 * file, the line and the field. Clouds are views into one buffer holding the whole cloud file.
 */
export function readDemonstrations(dir: string): { meta: DemoMeta; steps: DemoStep[] } {
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(metaPath)) {
    const hint = existsSync(dir) ? ` (found: ${readdirSync(dir).slice(0, 5).join(', ') || 'nothing'})` : ' (no such directory)';
    throw new Error(`${dir}: not a demonstration set, meta.json is missing${hint}`);
  }
  const metaRaw = DemoMetaSchema.safeParse(JSON.parse(readFileSync(metaPath, 'utf8')));
  if (!metaRaw.success) throw new ValidationError(metaPath, metaRaw.error.issues);
  const meta = metaRaw.data;
  const buf = readFileSync(join(dir, meta.cloudFile));
  if (buf.byteLength % 12 !== 0) throw new Error(`${join(dir, meta.cloudFile)}: size ${buf.byteLength} is not a multiple of 12 bytes (x,y,z float32)`);
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(littleEndian(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)));
  const all = new Float32Array(bytes.buffer);
  const total = all.length / 3;
  const text = readFileSync(join(dir, 'steps.jsonl'), 'utf8');
  const steps: DemoStep[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    const r = DemoLineSchema.safeParse(JSON.parse(raw));
    if (!r.success) throw new ValidationError(`${join(dir, 'steps.jsonl')} line ${i + 1}`, r.error.issues);
    const l = r.data;
    if (l.cloud.offset + l.cloud.points > total)
      throw new Error(`${join(dir, 'steps.jsonl')} line ${i + 1}: cloud ends at point ${l.cloud.offset + l.cloud.points}, the cloud file holds ${total}`);
    if (l.executed >= l.actions.length)
      throw new Error(`${join(dir, 'steps.jsonl')} line ${i + 1}: executed: expected an index below ${l.actions.length}, received ${l.executed}`);
    const actions = l.actions.map((v) => fromVec6(meta.primitive, v));
    steps.push({
      episode: l.episode,
      seed: l.seed,
      step: l.step,
      cloud: all.subarray(l.cloud.offset * 3, (l.cloud.offset + l.cloud.points) * 3),
      actions,
      executed: actions[l.executed]!,
      executedIndex: l.executed,
      metricsBefore: l.metricsBefore,
      metricsAfter: l.metricsAfter,
      successAfter: l.successAfter,
      done: l.done,
    });
  });
  if (steps.length !== meta.steps) throw new Error(`${dir}: meta.json says ${meta.steps} steps, steps.jsonl holds ${steps.length}`);
  return { meta, steps };
}
