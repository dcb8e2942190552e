// Seeded randomness: every sampler in pamstack takes an Rng (or a seed), never Math.random.

/** xoshiro128** seeded through splitmix32; fast, 32-bit, reproducible across platforms. */
export class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(mean = 0, std = 1): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return mean + std * v;
    }
    let u: number, v: number, s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * m;
    return mean + std * u * m;
  }

  /** Fills `out` with standard normals and returns it. */
  fillNormal(out: Float32Array | Float64Array): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** An independent child stream (for per-episode or per-worker randomness). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const GOLDEN = 0x9e3779b1;

/**
 * The seed of stream `stream` of `base`: base xor stream·φ (φ = 2³²/golden ratio is odd, so distinct
 * streams give distinct masks). Every derived seed in pamstack goes through here: a decision's seed from
 * the episode rng and the decider's seed, an epoch's shuffle from the run seed, a named stream below.
 */
export function deriveSeed(base: number, stream: number): number {
  return (base ^ Math.imul(stream >>> 0, GOLDEN)) >>> 0;
}

/**
 * Named streams of a seed. The values are part of every seeded result (the committed tables and CI
 * baselines were measured with them): `episode` is the agent's rng of an episode (xor mask 0xa5a5a5a5),
 * `shuffle` a data shuffle or teacher stream (mask 0x5eed).
 */
export const SeedStream = {
  episode: 0xc969b435,
  shuffle: 0x923a8bfd,
} as const;
