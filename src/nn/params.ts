// Named parameter sets: seeded initialisation, the trainable-variables handle, cloning and freezing.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.ts';

/** How a parameter starts: PyTorch's defaults (Linear: U(±1/√fanIn); LayerNorm: ones/zeros). */
export type ParamInit = { kind: 'uniform'; fanIn: number } | { kind: 'zeros' } | { kind: 'ones' } | { kind: 'normal'; std: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

/** One parameter's values, read back from the backend (row-major float32). */
export interface ParamArray {
  shape: number[];
  data: Float32Array;
}

/**
 * An ordered map name → tf.Variable. The order is the spec order, so checkpoints and optimiser
 * state line up. Variables are created without tfjs names (tfjs names are global; two policies must
 * coexist, e.g. a DPO policy and its frozen reference).
 */
export class ParamSet {
  readonly #vars: Map<string, tf.Variable>;
  readonly #trainable: boolean;

  private constructor(vars: Map<string, tf.Variable>, trainable: boolean) {
    this.#vars = vars;
    this.#trainable = trainable;
  }

  /** Creates the parameters of `specs`, initialised from `seed` on the JS side (identical on every backend). */
  static create(specs: readonly ParamSpec[], seed: number, trainable = true): ParamSet {
    const rng = new Rng(seed);
    const vars = new Map<string, tf.Variable>();
    for (const s of specs) {
      if (vars.has(s.name)) throw new Error(`duplicate parameter name ${s.name}`);
      const data = initValues(s, rng);
      vars.set(s.name, tf.tidy(() => tf.variable(tf.tensor(data, s.shape, 'float32'), trainable)));
    }
    return new ParamSet(vars, trainable);
  }

  /** Builds a set from arrays (a checkpoint); every spec must be present with its exact shape. */
  static fromArrays(specs: readonly ParamSpec[], arrays: ReadonlyMap<string, ParamArray>, trainable = true): ParamSet {
    checkArrays(specs, arrays);
    const vars = new Map<string, tf.Variable>();
    for (const s of specs) {
      const a = arrays.get(s.name)!;
      vars.set(s.name, tf.tidy(() => tf.variable(tf.tensor(a.data, s.shape, 'float32'), trainable)));
    }
    return new ParamSet(vars, trainable);
  }

  /** The variable `name`; throws naming the known ones when absent. */
  get(name: string): tf.Variable {
    const v = this.#vars.get(name);
    if (!v) throw new Error(`no parameter ${name}; known: ${[...this.#vars.keys()].join(', ')}`);
    return v;
  }

  /** Parameter names in spec order. */
  names(): string[] {
    return [...this.#vars.keys()];
  }

  /** The variables in spec order: the handle optimisers and `tf.variableGrads` take. */
  variables(): tf.Variable[] {
    return [...this.#vars.values()];
  }

  /** Whether gradients flow into these parameters. */
  get trainable(): boolean {
    return this.#trainable;
  }

  /** Total number of scalars. */
  size(): number {
    let n = 0;
    for (const v of this.#vars.values()) n += v.size;
    return n;
  }

  /** An independent copy; `trainable: false` gives a frozen copy (e.g. the DPO reference). */
  clone(opts: { trainable?: boolean } = {}): ParamSet {
    const trainable = opts.trainable ?? this.#trainable;
    const vars = new Map<string, tf.Variable>();
    for (const [k, v] of this.#vars) vars.set(k, tf.variable(v.clone(), trainable));
    return new ParamSet(vars, trainable);
  }

  /** Copies the values of `other` (same names and shapes) into this set. */
  assign(other: ParamSet): void {
    for (const [k, v] of this.#vars) {
      const o = other.get(k);
      if (o.shape.join() !== v.shape.join()) throw new Error(`parameter ${k}: shape [${o.shape}] does not match [${v.shape}]`);
      v.assign(o);
    }
  }

  /** Reads every parameter back (for checkpoints). */
  async toArrays(): Promise<Map<string, ParamArray>> {
    const out = new Map<string, ParamArray>();
    const datas = await Promise.all([...this.#vars.values()].map((v) => v.data() as Promise<Float32Array>));
    let i = 0;
    for (const [k, v] of this.#vars) out.set(k, { shape: [...v.shape], data: Float32Array.from(datas[i++]!) });
    return out;
  }

  dispose(): void {
    for (const v of this.#vars.values()) v.dispose();
    this.#vars.clear();
  }
}

/** Throws naming the first missing, extra or mis-shaped parameter. */
export function checkArrays(specs: readonly ParamSpec[], arrays: ReadonlyMap<string, ParamArray>): void {
  const known = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const a = arrays.get(s.name);
    if (!a) throw new Error(`parameter ${s.name} is missing (expected shape [${s.shape}])`);
    if (a.shape.join() !== s.shape.join())
      throw new Error(`parameter ${s.name}: expected shape [${s.shape}], received [${a.shape}]`);
    const n = s.shape.reduce((p, q) => p * q, 1);
    if (a.data.length !== n) throw new Error(`parameter ${s.name}: expected ${n} values, received ${a.data.length}`);
    for (let i = 0; i < a.data.length; i++)
      if (!Number.isFinite(a.data[i]!)) throw new Error(`parameter ${s.name}: value ${i} is not finite (${a.data[i]})`);
  }
  for (const k of arrays.keys()) if (!known.has(k)) throw new Error(`unexpected parameter ${k} (not in this model's configuration)`);
}

function initValues(s: ParamSpec, rng: Rng): Float32Array {
  const n = s.shape.reduce((p, q) => p * q, 1);
  const out = new Float32Array(n);
  switch (s.init.kind) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'uniform': {
      const b = 1 / Math.sqrt(s.init.fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-b, b);
      break;
    }
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal(0, s.init.std);
      break;
  }
  return out;
}
