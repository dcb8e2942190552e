// Sinusoidal timestep embedding (as in DDPM/Diffusion Policy): [sin(t·f), cos(t·f)], f_i = 10000^(−i/half).

/**
 * Embeds integer timesteps `t` into rows of `dim` numbers, written into `out` ([t.length, dim]) or a
 * new array. Computed in float64 and rounded once, so every backend sees the same table.
 */
export function timestepEmbedding(t: ArrayLike<number>, dim: number, out = new Float32Array(t.length * dim)): Float32Array {
  if (dim % 2 !== 0) throw new Error(`timestepEmbedding: dim must be even, received ${dim}`);
  const half = dim / 2;
  // torch builds freqs in float32: exp(−ln(10000)·i/half)
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
  for (let r = 0; r < t.length; r++) {
    const tv = t[r]!;
    const o = r * dim;
    for (let i = 0; i < half; i++) {
      const a = Math.fround(tv * freqs[i]!);
      out[o + i] = Math.sin(a);
      out[o + half + i] = Math.cos(a);
    }
  }
  return out;
}
