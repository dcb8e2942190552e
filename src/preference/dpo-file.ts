// dpo.json, written beside a Diffusion-DPO fine-tune: where its frozen reference is and how it was trained.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.ts';

export const DPO_FILE = 'dpo.json';

export const DpoFileSchema = z.strictObject({
  /** The supervised policy folder, relative to the DPO folder (an absolute path is kept as is). */
  reference: z.string().min(1),
  /** The trainer's config (DpoConfigSchema when written; kept loose so older keys still load). */
  config: z.record(z.string(), z.unknown()),
  states: z.number().int().min(0),
  pairs: z.number().int().min(0),
  history: z.array(z.record(z.string(), z.unknown())),
});
export type DpoFile = z.infer<typeof DpoFileSchema>;

/** Whether `dir` holds a DPO fine-tune. */
export function isDpoFolder(dir: string): boolean {
  return existsSync(join(dir, DPO_FILE));
}

/** Reads `dir/dpo.json` (refused naming the file and field) and the reference folder resolved against `dir`. */
export function readDpoFile(dir: string): DpoFile & { referenceDir: string } {
  const file = join(dir, DPO_FILE);
  if (!existsSync(file)) throw new Error(`${dir}: no ${DPO_FILE}; the implicit reward needs a policy from pamstack train dpo`);
  const meta = parseOrThrow(DpoFileSchema, JSON.parse(readFileSync(file, 'utf8')), file);
  return { ...meta, referenceDir: resolve(dir, meta.reference) };
}

/** Writes `dir/dpo.json` after validating it (nothing is written when a field is wrong). */
export function writeDpoFile(dir: string, meta: { reference: string; config: object; states: number; pairs: number; history: object[] }): void {
  writeFileSync(join(dir, DPO_FILE), `${JSON.stringify(parseOrThrow(DpoFileSchema, meta, DPO_FILE), null, 1)}\n`);
}
