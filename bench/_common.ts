// Shared bench plumbing: machine description, side-by-side timing and the results file of DESIGN.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  workload: string;
  ours_ms: number;
  anchor: string;
  anchor_ms: number;
  /** ours/anchor from the same run: below 1 means pamstack is faster. */
  ratio: number;
  backend: string;
  machine: string;
  [extra: string]: unknown;
}

/** "2× Intel(R) Xeon(R) ..., 23.5 GiB, linux-x64". */
export function machineDescription(): string {
  const cpus = os.cpus();
  return `${cpus.length}× ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()}-${os.arch()}`;
}

/** Writes bench/results/FILE.json and returns its path. `file` is NAME or NAME-WORKLOAD. */
export function writeBenchResult(file: string, result: BenchResult): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${file}.json`;
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (!rows.length) return;
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) => (typeof v === 'number' ? String(+v.toPrecision(4)) : (v ?? ''));
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  console.log(cols.map((c, i) => c.padEnd(w[i]!)).join('  '));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => cell(r[c]).padEnd(w[i]!)).join('  '));
}

/** The Debian interpreter that has torch, POT and Open3D (not the pyenv python3 first on PATH). */
export const DEBIAN_PYTHON = '/usr/bin/python3';
