// Tensor files for checkpoints: float32 little-endian blobs with a JSON manifest and a SHA-256, written atomically.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { ParamArray } from './params.ts';

/** Where one tensor lies in its blob: offset and length in float32 elements. */
export const TensorEntrySchema = z.strictObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)),
  offset: z.number().int().min(0),
  length: z.number().int().min(0),
});
export type TensorEntry = z.infer<typeof TensorEntrySchema>;

/** A blob's manifest: its entries, byte size and SHA-256 (hex). */
export const TensorFileSchema = z.strictObject({
  file: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  tensors: z.array(TensorEntrySchema),
});
export type TensorFile = z.infer<typeof TensorFileSchema>;

/** A checkpoint that cannot be used: corrupted, truncated, or made for another configuration. */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`checkpoint ${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** Writes named arrays into `dir/file` (via a temporary file and rename) and returns the manifest. */
export function writeTensorFile(dir: string, file: string, arrays: Iterable<[string, ParamArray]>): TensorFile {
  const entries: TensorEntry[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    entries.push({ name, shape: [...a.shape], offset, length: a.data.length });
    parts.push(a.data);
    offset += a.data.length;
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const bytes = littleEndianBytes(all);
  const tmp = `${dir}/.${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, `${dir}/${file}`);
  return { file, bytes: bytes.length, sha256: sha256(bytes), tensors: entries };
}

/** Reads a blob written by writeTensorFile; refuses a wrong size, a wrong checksum or bad entries. */
export function readTensorFile(dir: string, manifest: TensorFile): Map<string, ParamArray> {
  const path = `${dir}/${manifest.file}`;
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(dir, `cannot read ${manifest.file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (buf.length !== manifest.bytes)
    throw new CheckpointError(dir, `${manifest.file} is corrupted: expected ${manifest.bytes} bytes, found ${buf.length}`);
  const sum = sha256(buf);
  if (sum !== manifest.sha256)
    throw new CheckpointError(dir, `${manifest.file} is corrupted: SHA-256 ${sum.slice(0, 12)}… does not match the manifest's ${manifest.sha256.slice(0, 12)}…`);
  const n = buf.length / 4;
  const all = new Float32Array(n);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < n; i++) all[i] = view.getFloat32(i * 4, true);
  const out = new Map<string, ParamArray>();
  for (const e of manifest.tensors) {
    const size = e.shape.reduce((p, q) => p * q, 1);
    if (size !== e.length) throw new CheckpointError(dir, `tensor ${e.name}: shape [${e.shape}] has ${size} values but the manifest says ${e.length}`);
    if (e.offset + e.length > n) throw new CheckpointError(dir, `tensor ${e.name}: runs past the end of ${manifest.file}`);
    if (out.has(e.name)) throw new CheckpointError(dir, `tensor ${e.name} appears twice in ${manifest.file}`);
    out.set(e.name, { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) });
  }
  return out;
}

/** Writes text to `path` atomically (temporary file + rename). */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function littleEndianBytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i]!, true);
  return out;
}
