// Shared helpers of the sim tests.
import type { World } from '../../src/core/index.ts';
import { expertAgent, randomAgent } from '../../src/stack/agents.ts';
import { evaluate } from '../../src/stack/evaluate.ts';

export function shifted(c: Float32Array, dx: number): Float32Array {
  const out = Float32Array.from(c);
  for (let i = 0; i < out.length; i += 3) out[i]! += dx;
  return out;
}

export function allFiniteOnTable(v: Float64Array, maxZ: number): boolean {
  for (let i = 0; i < v.length; i += 3) {
    if (!Number.isFinite(v[i]!) || !Number.isFinite(v[i + 1]!) || !Number.isFinite(v[i + 2]!)) return false;
    if (Math.abs(v[i]!) > 0.5 || Math.abs(v[i + 1]!) > 0.4 || v[i + 2]! < -0.002 || v[i + 2]! > maxZ) return false;
  }
  return true;
}

export async function expertVsRandom(w: World, episodes: number, seed: number) {
  const ex = await evaluate(w, expertAgent(), { episodes, seed, quiet: true });
  const rd = await evaluate(w, randomAgent(), { episodes, seed, quiet: true });
  return { ex, rd };
}

