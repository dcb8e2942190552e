// Preference datasets on disk: states.jsonl (cloud + candidates + oracle scores) and rankings.jsonl.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { WorkspaceBoxSchema, type WorkspaceBox } from '../core/geometry.ts';
import { makeCloud, type PointCloud } from '../core/pointcloud.ts';
import { RankingSchema, type Ranking } from '../core/preference.ts';
import { PrimitiveSchema, type Primitive } from '../core/primitive.ts';
import { TaskNameSchema, type TaskName } from '../core/task.ts';

export const STATES_FILE = 'states.jsonl';
export const RANKINGS_FILE = 'rankings.jsonl';

/**
 * One recorded decision state: the observed object cloud (`table` frame, float32 xyz as base64),
 * the N candidates proposed there, and (from sim) each candidate's oracle score, higher is better
 * (−Infinity stored as null: refused). `demos` are expert actions for the state, when recorded.
 */
export const CandidateStateSchema = z.strictObject({
  stateId: z.string().min(1),
  task: TaskNameSchema,
  workspace: WorkspaceBoxSchema,
  cloud: z.strictObject({ n: z.number().int().min(0), points: z.string() }),
  candidates: z.array(PrimitiveSchema).min(1),
  oracle: z.array(z.number().nullable()).optional(),
  demos: z.array(PrimitiveSchema).optional(),
  episode: z.number().int().optional(),
  step: z.number().int().optional(),
});
export type CandidateStateRecord = z.infer<typeof CandidateStateSchema>;

/** A decoded state: typed cloud and oracle scores (refused = −Infinity). */
export interface CandidateState {
  stateId: string;
  task: TaskName;
  workspace: WorkspaceBox;
  cloud: PointCloud;
  candidates: Primitive[];
  oracle?: number[];
  demos?: Primitive[];
  episode?: number;
  step?: number;
}

/** A cloud's xyz as the files store it: float32, base64, with the point count. */
export function encodeCloud(c: PointCloud): { n: number; points: string } {
  return { n: c.points.length / 3, points: Buffer.from(c.points.buffer, c.points.byteOffset, c.points.byteLength).toString('base64') };
}

/** The inverse of {@link encodeCloud} (`table` frame); `what` names the record in the error. */
export function decodeCloud(r: { n: number; points: string }, what: string): PointCloud {
  const b = Buffer.from(r.points, 'base64');
  if (b.byteLength !== r.n * 12) throw new Error(`${what}: cloud.points holds ${b.byteLength} bytes, expected ${r.n * 12}`);
  const pts = new Float32Array(r.n * 3);
  new Uint8Array(pts.buffer).set(b);
  return makeCloud(pts, 'table');
}

export function encodeState(s: CandidateState): CandidateStateRecord {
  const rec: CandidateStateRecord = {
    stateId: s.stateId,
    task: s.task,
    workspace: s.workspace,
    cloud: encodeCloud(s.cloud),
    candidates: s.candidates,
  };
  if (s.oracle) rec.oracle = s.oracle.map((v) => (Number.isFinite(v) ? v : null));
  if (s.demos) rec.demos = s.demos;
  if (s.episode !== undefined) rec.episode = s.episode;
  if (s.step !== undefined) rec.step = s.step;
  return rec;
}

export function decodeState(r: CandidateStateRecord): CandidateState {
  const s: CandidateState = { stateId: r.stateId, task: r.task, workspace: r.workspace, cloud: decodeCloud(r.cloud, `state ${r.stateId}`), candidates: r.candidates };
  if (r.oracle) {
    if (r.oracle.length !== r.candidates.length)
      throw new Error(`state ${r.stateId}: oracle has ${r.oracle.length} scores for ${r.candidates.length} candidates`);
    s.oracle = r.oracle.map((v) => (v === null ? -Infinity : v));
  }
  if (r.demos) s.demos = r.demos;
  if (r.episode !== undefined) s.episode = r.episode;
  if (r.step !== undefined) s.step = r.step;
  return s;
}

/** Reads a JSONL file with `schema`; an error names file, line and field. */
export function readJsonl<S extends z.ZodType>(path: string, schema: S): z.infer<S>[] {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const out: z.infer<S>[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
      }
      const r = schema.safeParse(v);
      if (!r.success) throw new ValidationError(`${path}:${i + 1}`, r.error.issues);
      out.push(r.data);
    });
  return out;
}

/** Writes records as JSONL atomically. */
export function writeJsonl(path: string, records: unknown[]): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(`${path}.tmp`, records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
  renameSync(`${path}.tmp`, path);
}

export function readStates(dir: string): CandidateState[] {
  return readJsonl(join(dir, STATES_FILE), CandidateStateSchema).map(decodeState);
}

export function writeStates(dir: string, states: CandidateState[]): void {
  writeJsonl(join(dir, STATES_FILE), states.map(encodeState));
}

export function readRankings(path: string): Ranking[] {
  return readJsonl(path, RankingSchema);
}

/**
 * States and rankings of several dataset folders (e.g. labelling sessions) as one dataset; each
 * folder's rankings are `<dir>/rankings.jsonl`. A state id in two folders is an error naming both.
 */
export function readDatasets(dirs: string[]): { states: CandidateState[]; rankings: Ranking[] } {
  const states: CandidateState[] = [];
  const rankings: Ranking[] = [];
  const from = new Map<string, string>();
  for (const dir of dirs) {
    for (const s of readStates(dir)) {
      const prev = from.get(s.stateId);
      if (prev !== undefined) throw new Error(`state ${s.stateId} is in both ${prev} and ${dir}; give each labelling run its own --seed`);
      from.set(s.stateId, dir);
      states.push(s);
    }
    rankings.push(...readRankings(join(dir, RANKINGS_FILE)));
  }
  return { states, rankings };
}
