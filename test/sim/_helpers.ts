// Shared helpers of the sim tests.
import type { World } from '../../src/core/index.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';
import { rollout } from '../../src/stack/rollout.ts';

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

/** Rolls out the scripted expert or the random baseline (first safe of their candidates) through the product's loop. */
export async function runBaseline(w: World, policy: 'expert' | 'random', opts: { episodes: number; seed: number }) {
  const decider = await loadDecider(deciderSpecFor(policy, { select: 'first' }));
  try {
    return await rollout(w, decider, { ...opts, quiet: true });
  } finally {
    decider.dispose();
  }
}

export async function expertVsRandom(w: World, episodes: number, seed: number) {
  const ex = await runBaseline(w, 'expert', { episodes, seed });
  const rd = await runBaseline(w, 'random', { episodes, seed });
  return { ex, rd };
}

