// A deterministic delivery gridworld (after Knox et al.) with exact V*, for regret-vs-partial-return checks.
import { Rng } from '../core/rng.ts';
import type { PairData } from './reward-model.ts';
import { regretTeacher } from './regret-teacher.ts';
import type { TeacherConfig } from './teachers.ts';

/** Cell kinds: free (step cost), mud (extra cost), goal and sheep (terminal). */
export type Cell = 'free' | 'mud' | 'goal' | 'sheep';

/** Reward weights on the transition features [step, goal, sheep, mud] (Knox's delivery domain, trimmed). */
export const DELIVERY_WEIGHTS = [-1, 50, -50, -1] as const;
export const DELIVERY_FEATURES = 4;
const MOVES: [number, number][] = [
  [0, 1],
  [1, 0],
  [0, -1],
  [-1, 0],
];

/**
 * A size×size grid; state index = y·size + x, plus one absorbing state (index size²) that terminal
 * cells lead to, where every action yields zero reward and zero features (so V = 0 there).
 */
export class DeliveryGrid {
  readonly size: number;
  readonly cells: Cell[];
  readonly absorbing: number;
  readonly v: Float64Array;

  constructor(size: number, seed: number) {
    this.size = size;
    const rng = new Rng(seed);
    this.cells = Array.from({ length: size * size }, () => (rng.next() < 0.25 ? 'mud' : 'free') as Cell);
    this.cells[rng.int(size * size)] = 'goal';
    for (let k = 0; k < 2; k++) {
      const i = rng.int(size * size);
      if (this.cells[i] !== 'goal') this.cells[i] = 'sheep';
    }
    this.absorbing = size * size;
    this.v = this.#valueIteration();
  }

  get states(): number {
    return this.size * this.size + 1;
  }

  isTerminal(s: number): boolean {
    return s === this.absorbing || this.cells[s] === 'goal' || this.cells[s] === 'sheep';
  }

  /** Next state and transition features [step, goal, sheep, mud] of action a (0..3) in s. */
  step(s: number, a: number): { next: number; phi: number[] } {
    if (this.isTerminal(s)) return { next: this.absorbing, phi: [0, 0, 0, 0] };
    const x = s % this.size;
    const y = Math.floor(s / this.size);
    const [dx, dy] = MOVES[a]!;
    const nx = Math.min(this.size - 1, Math.max(0, x + dx));
    const ny = Math.min(this.size - 1, Math.max(0, y + dy));
    const next = ny * this.size + nx;
    const c = this.cells[next]!;
    return { next, phi: [1, c === 'goal' ? 1 : 0, c === 'sheep' ? 1 : 0, c === 'mud' ? 1 : 0] };
  }

  reward(phi: number[]): number {
    return phi.reduce((a, f, i) => a + f * DELIVERY_WEIGHTS[i]!, 0);
  }

  /** Q*(s, a) = r + V*(s'), undiscounted (every policy that avoids terminals pays step cost forever, so V* is finite). */
  q(s: number, a: number): number {
    const { next, phi } = this.step(s, a);
    return this.reward(phi) + (next === this.absorbing || this.isTerminal(s) ? 0 : this.v[next]!);
  }

  #valueIteration(): Float64Array {
    const n = this.states;
    const v = new Float64Array(n);
    for (let it = 0; it < 10 * n; it++) {
      let delta = 0;
      for (let s = 0; s < n; s++) {
        if (this.isTerminal(s)) continue;
        let best = -Infinity;
        for (let a = 0; a < 4; a++) {
          const { next, phi } = this.step(s, a);
          best = Math.max(best, this.reward(phi) + v[next]!);
        }
        delta = Math.max(delta, Math.abs(best - v[s]!));
        v[s] = best;
      }
      if (delta < 1e-9) break;
    }
    return v;
  }

  /** One-hot state features, [states]. */
  stateFeatures(s: number, out: Float32Array, offset: number): void {
    out.fill(0, offset, offset + this.states);
    out[offset + s] = 1;
  }
}

/**
 * `pairs` segment pairs of `steps` transitions from random non-terminal starts, each action optimal
 * with probability `greedy` and uniform otherwise, labelled by a regret teacher (`teacher`), with
 * features for both the partial-return and the regret model. Skipped queries are dropped.
 */
export function regretSegmentPairs(
  grid: DeliveryGrid,
  opts: { pairs: number; steps: number; greedy: number; seed: number; teacher?: Partial<TeacherConfig> },
): PairData {
  const rng = new Rng(opts.seed);
  const t = regretTeacher(opts.teacher ?? { beta: 1 });
  const L = opts.steps;
  const d = DELIVERY_FEATURES;
  const ds = grid.states;
  const left: number[] = [];
  const right: number[] = [];
  const ys: number[] = [];
  const ls = new Float32Array(opts.pairs * (L + 1) * ds);
  const rs = new Float32Array(opts.pairs * (L + 1) * ds);
  const segment = () => {
    let s: number;
    do s = rng.int(grid.size * grid.size);
    while (grid.isTerminal(s));
    const states = [s];
    const phis: number[][] = [];
    const rewards: number[] = [];
    for (let k = 0; k < L; k++) {
      let a = rng.int(4);
      if (rng.next() < opts.greedy) {
        let best = -Infinity;
        for (let b = 0; b < 4; b++) if (grid.q(s, b) > best) (best = grid.q(s, b)), (a = b);
      }
      const st = grid.step(s, a);
      phis.push(st.phi);
      rewards.push(grid.reward(st.phi));
      s = st.next;
      states.push(s);
    }
    return { states, phis, seg: { rewards, vStart: grid.v[states[0]!]!, vEnd: grid.v[s]! } };
  };
  let p = 0;
  while (p < opts.pairs) {
    const a = segment();
    const b = segment();
    const lab = t.label(a.seg, b.seg, rng);
    if (lab === 'skip') continue;
    for (const f of a.phis) left.push(...f);
    for (const f of b.phis) right.push(...f);
    ys.push(lab === 'left' ? 1 : lab === 'right' ? 0 : 0.5);
    a.states.forEach((s, k) => grid.stateFeatures(s, ls, (p * (L + 1) + k) * ds));
    b.states.forEach((s, k) => grid.stateFeatures(s, rs, (p * (L + 1) + k) * ds));
    p++;
  }
  return {
    rowDim: d,
    steps: L,
    left: Float32Array.from(left),
    right: Float32Array.from(right),
    y: Float32Array.from(ys),
    stateDim: ds,
    leftStates: ls,
    rightStates: rs,
  };
}
