// Loads the POT 0.8.2 golden fixtures written by fixtures/make_fixtures.py.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GwLoss, GwProblem } from '../../src/transfer/index.ts';

export interface PotFixture {
  name: string;
  input: { C1: number[][]; C2: number[][]; p: number[]; q: number[]; epsilon?: number; loss: GwLoss; solver: 'entropic' | 'cg' };
  pot: { T: number[][]; gw: number; iterations: number | null; ms: number };
  pot_marginal_error: { rows: number; cols: number };
  permutation?: number[];
}

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function loadPotFixtures(solver: 'entropic' | 'cg'): PotFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(dir + f, 'utf8')) as PotFixture)
    .filter((fx) => fx.input.solver === solver);
}

export function problemOf(fx: PotFixture): GwProblem {
  return {
    C1: Float64Array.from(fx.input.C1.flat()),
    C2: Float64Array.from(fx.input.C2.flat()),
    p: Float64Array.from(fx.input.p),
    q: Float64Array.from(fx.input.q),
  };
}

export function maxAbsDiff(a: Float64Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
