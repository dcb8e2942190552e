// The `pamstack gw` JSON contract: parse, validate (naming the bad field), solve, and shape the output.
import { z } from 'zod';
import { FieldError, parseOrThrow } from '../core/index.ts';
import type { MatmulKernel } from './dense.ts';
import { cgGromovWasserstein } from './cg-gw.ts';
import { type GwResult, entropicGromovWasserstein, entropicGwMode } from './entropic-gw.ts';
import { type GwLoss, type GwProblem, assertEpsilon, validateGwProblem } from './gw-problem.ts';

/** The contract's top level; matrices are checked by hand below (fast, and errors name the entry). */
export const GwInputSchema = z.strictObject({
  C1: z.array(z.unknown()),
  C2: z.array(z.unknown()),
  p: z.array(z.unknown()),
  q: z.array(z.unknown()),
  epsilon: z.unknown().optional(),
  loss: z.enum(['square_loss', 'kl_loss']).default('square_loss'),
  solver: z.enum(['entropic', 'cg']).default('entropic'),
});

/** A validated `gw` request. */
export interface GwRequest {
  problem: GwProblem;
  epsilon: number | undefined;
  loss: GwLoss;
  solver: 'entropic' | 'cg';
}

/** What `pamstack gw --json` prints: the DESIGN.md contract plus `ms`. */
export interface GwOutput {
  T: number[][];
  gw: number;
  iterations: number;
  ms: number;
}

/** Token JSON cannot carry; mapped to a marker string so the error can name the entry. */
const NON_FINITE = /(?<![\w."])(-?Infinity|NaN)(?![\w"])/g;

/** Parses the file text; bare NaN/Infinity tokens survive as strings so validation names them. */
export function parseGwJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    try {
      return JSON.parse(text.replace(NON_FINITE, '"$1"'));
    } catch {
      throw new FieldError('input', 'a JSON object', `unparseable JSON (${(e as Error).message})`);
    }
  }
}

function entryValue(name: string, x: unknown): number {
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  if (x === 'NaN' || x === 'Infinity' || x === '-Infinity' || (typeof x === 'number' && !Number.isFinite(x)))
    throw new FieldError(name, 'a finite number', Number(x));
  throw new FieldError(name, 'a finite number', x);
}

/** n×n nested array → Float64Array, refusing ragged, non-square or non-finite input by name. */
export function squareMatrixFrom(name: string, rows: unknown[]): Float64Array {
  const n = rows.length;
  if (n === 0) throw new FieldError(name, 'a non-empty square matrix', 'an empty array');
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (!Array.isArray(row)) throw new FieldError(`${name}[${i}]`, `a row of ${n} numbers`, row);
    if (row.length !== n)
      throw new FieldError(name, `a square matrix (${n} rows of ${n} numbers)`, `row ${i} with ${row.length} entries`);
    for (let k = 0; k < n; k++) out[i * n + k] = entryValue(`${name}[${i}][${k}]`, row[k]);
  }
  return out;
}

function vectorFrom(name: string, xs: unknown[]): Float64Array {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = entryValue(`${name}[${i}]`, xs[i]);
  return out;
}

/** Validates a parsed request: shapes, finiteness, symmetry, marginals, epsilon. */
export function gwRequestFrom(value: unknown): GwRequest {
  const raw = parseOrThrow(GwInputSchema, value, 'gw input');
  const problem: GwProblem = {
    C1: squareMatrixFrom('C1', raw.C1),
    C2: squareMatrixFrom('C2', raw.C2),
    p: vectorFrom('p', raw.p),
    q: vectorFrom('q', raw.q),
  };
  validateGwProblem(problem);
  // The contract: cg ignores epsilon (whatever its value), entropic needs one > 0.
  let epsilon: number | undefined;
  if (raw.solver === 'entropic') {
    if (raw.epsilon === undefined) throw new FieldError('epsilon', 'a finite number > 0 (solver "entropic")', undefined);
    epsilon = entryValue('epsilon', raw.epsilon);
    assertEpsilon(epsilon);
  }
  return { problem, epsilon, loss: raw.loss, solver: raw.solver };
}

/** How {@link solveGwRequest} solves. */
export interface GwSolveOptions {
  /** Entropic: POT 0.8.2's exact iterates instead of the fast configuration (FAST_ENTROPIC_GW). @default false */
  exact?: boolean;
  kernel?: MatmulKernel;
  /** The fast solver's f32 product kernel (EntropicGwOptions.productKernel). */
  productKernel?: MatmulKernel;
}

/** Solves a request; `ms` is the solver's time only (parsing and validation excluded). */
export function solveGwRequest(req: GwRequest, opts: GwSolveOptions = {}): { result: GwResult; ms: number } {
  const { kernel } = opts;
  const t0 = performance.now();
  const result =
    req.solver === 'entropic'
      ? entropicGromovWasserstein(req.problem, { ...entropicGwMode(opts.exact ?? false), epsilon: req.epsilon!, loss: req.loss, kernel, productKernel: opts.productKernel })
      : cgGromovWasserstein(req.problem, { loss: req.loss, kernel });
  return { result, ms: performance.now() - t0 };
}

/** The contract's output object. */
export function gwOutputFrom(result: GwResult, ms: number): GwOutput {
  const T: number[][] = [];
  for (let i = 0; i < result.n; i++) T.push(Array.from(result.T.subarray(i * result.m, (i + 1) * result.m)));
  return { T, gw: result.gw, iterations: result.iterations, ms };
}
