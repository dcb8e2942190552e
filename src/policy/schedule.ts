// The noise schedule: squaredcos_cap_v2 (diffusers' betas_for_alpha_bar), ᾱ, and DDIM timestep lists.

/** ᾱ(t) of the continuous cosine schedule (Nichol & Dhariwal), s = 0.008. */
export function cosineAlphaBar(tOverT: number, s = 0.008): number {
  return Math.cos(((tOverT + s) / (1 + s)) * (Math.PI / 2)) ** 2;
}

/** A discrete schedule of T steps: betas, alphas and their cumulative products (float32, as in PyTorch). */
export interface NoiseSchedule {
  readonly T: number;
  readonly betas: Float32Array;
  /** ᾱ_t = Π_{i≤t}(1 − β_i), index 0..T−1. */
  readonly alphasCumprod: Float32Array;
}

/** squaredcos_cap_v2: β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta). @default T 100, maxBeta 0.999 */
export function squaredCosCapV2(T = 100, maxBeta = 0.999): NoiseSchedule {
  if (!Number.isInteger(T) || T < 2) throw new Error(`T: expected an integer ≥ 2, received ${T}`);
  const betas = new Float32Array(T);
  for (let i = 0; i < T; i++) betas[i] = Math.min(1 - cosineAlphaBar((i + 1) / T) / cosineAlphaBar(i / T), maxBeta);
  const alphasCumprod = new Float32Array(T);
  // cumulative product in float32, as torch.cumprod does on a float32 tensor
  let acc = Math.fround(1);
  for (let i = 0; i < T; i++) {
    acc = Math.fround(acc * Math.fround(1 - betas[i]!));
    alphasCumprod[i] = acc;
  }
  return { T, betas, alphasCumprod };
}

/** Round half to even, as torch.round does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * DDIM timesteps from T−1 down to 0 in `steps` evenly spaced values (torch.linspace(T−1, 0, steps).round()).
 * 100 steps on T=100 gives 99, 98, …, 0; 10 steps give 99, 88, …, 0.
 */
export function ddimTimesteps(T: number, steps: number): Int32Array {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`steps: expected an integer in [1, ${T}], received ${steps}`);
  const out = new Int32Array(steps);
  if (steps === 1) {
    out[0] = T - 1;
    return out;
  }
  for (let i = 0; i < steps; i++) {
    // float32 linspace like torch: start + i·(end − start)/(steps − 1)
    const v = Math.fround(T - 1 + Math.fround(i * Math.fround((0 - (T - 1)) / (steps - 1))));
    out[i] = roundHalfEven(v);
  }
  return out;
}
