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

/** The 1-minute load average per core, e.g. "load 1.4/2". */
export function loadNow(): string {
  return `load ${os.loadavg()[0]!.toFixed(1)}/${os.cpus().length}`;
}

/** One round of a side-by-side timing: our time, the anchor's, and the machine load at its end. */
export interface BenchRound {
  ours_ms: number;
  anchor_ms: number;
  load: number;
}

/** Rounds until steady: medians, the anchor's spread and every round with its load. */
export interface SteadyTiming {
  ours_ms: number;
  anchor_ms: number;
  ratio: number;
  /** (max − min)/median of the anchor's rounds */
  anchor_spread: number;
  /** the spread fell below the target before the round limit */
  steady: boolean;
  rounds: BenchRound[];
}

/**
 * Runs `round` (ours and the anchor, back to back) until the anchor's spread over the rounds so far
 * is below `spread` (at least `minRounds` rounds) or `maxRounds` is hit, printing each round's ratio
 * with the load beside it: a ratio from a loaded anchor against a quiet us (or the reverse) shows as
 * spread, and the medians of alternating rounds share the load.
 */
export function repeatUntilSteady(
  label: string,
  round: () => { ours_ms: number; anchor_ms: number },
  opts: { spread?: number; minRounds?: number; maxRounds?: number } = {},
): SteadyTiming {
  const target = opts.spread ?? 0.1;
  const minRounds = opts.minRounds ?? 3;
  const maxRounds = Math.max(minRounds, opts.maxRounds ?? 8);
  const rounds: BenchRound[] = [];
  let spread = Infinity;
  while (rounds.length < maxRounds) {
    const r = round();
    rounds.push({ ...r, load: os.loadavg()[0]! });
    const a = rounds.map((x) => x.anchor_ms);
    spread = (Math.max(...a) - Math.min(...a)) / median(a);
    console.error(
      `${label} round ${rounds.length}: ours ${r.ours_ms.toFixed(1)} ms, anchor ${r.anchor_ms.toFixed(1)} ms, ratio ${(r.ours_ms / r.anchor_ms).toFixed(3)}, ${loadNow()}, anchor spread ${(100 * spread).toFixed(1)} %`,
    );
    if (rounds.length >= minRounds && spread < target) break;
  }
  const ours = median(rounds.map((x) => x.ours_ms)), anchor = median(rounds.map((x) => x.anchor_ms));
  return { ours_ms: ours, anchor_ms: anchor, ratio: ours / anchor, anchor_spread: spread, steady: spread < target, rounds };
}
