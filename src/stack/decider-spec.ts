// The decider spec: everything that fixes how a state becomes an action (proposer, scorer, N, LCB, seeds),
// as one zod schema. policies/<task>/default.json is such a spec; flags and ROS parameters override keys.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { FieldError, parseOrThrow } from '../core/errors.ts';

export const SELECT_MODES = ['ras', 'first', 'random'] as const;
export type SelectMode = (typeof SELECT_MODES)[number];
export const REWARD_KINDS = ['implicit', 'bt', 'robust', 'none'] as const;
export type RewardKind = (typeof REWARD_KINDS)[number];
export const DECIDER_FILE = 'default.json';

/** One decider. Paths (`policy` when a folder, `rewardDir`) are relative to the spec's folder. */
export const DeciderSpecSchema = z.strictObject({
  /** A short label for tables and logs (e.g. `ras-points`). */
  method: z.string().min(1).optional(),
  /** `expert` (the sim's scripted expert), `random` (a random cloud point, then a random place), or a policy checkpoint folder. */
  policy: z.string().min(1),
  /** `ras`: best safe by the reward; `first`: first safe in proposal order; `random`: a random safe one. @default 'ras' */
  select: z.enum(SELECT_MODES).default('ras'),
  /**
   * With select `ras`: `implicit` (the policy folder is a DPO fine-tune, scored against its reference),
   * `bt` / `robust` (a reward folder), `none` (no reward: proposal order). @default 'implicit' with ras, else 'none'
   */
  reward: z.enum(REWARD_KINDS).optional(),
  /** With reward bt | robust: the folder written by `pamstack train reward`. */
  rewardDir: z.string().min(1).optional(),
  /** Candidates proposed per state (N). @default 8 */
  candidates: z.number().int().min(1).max(256).default(8),
  /** Rank by μ − lcb·σ (a robust reward's lower confidence bound; 0 ranks by the mean). @default 0 */
  lcb: z.number().min(0).max(10).default(0),
  /** Implicit reward: noise draws per candidate. @default 100 (DeformPAM) */
  draws: z.number().int().min(1).max(1000).default(100),
  /** DDIM steps of the policy sampler. @default 10 */
  steps: z.number().int().min(1).max(1000).default(10),
  /** DDIM eta (1: DDPM-like stochastic sampling, 0: deterministic). @default 1 */
  eta: z.number().min(0).max(1).default(1),
  /** With policy `expert`: jitter each expert point by N(0, noise²) in x and y, m (0: the expert itself). @default 0 */
  noise: z.number().min(0).max(1).default(0),
  /**
   * Where inference runs: `onnx` (onnxruntime-node's CPU kernels, several times wasm's speed), `tfjs`, or
   * `auto` (onnx where onnxruntime-node loads, else tfjs). Both give the same candidates and scores
   * within 1e-4. @default 'auto'
   */
  backend: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
  /** Mixed into every decision's seed (one stream per decider). @default 0 */
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
});
export type DeciderSpecInput = z.input<typeof DeciderSpecSchema>;

/** A validated spec with its paths absolute and `reward` resolved. */
export type DeciderSpec = Omit<z.output<typeof DeciderSpecSchema>, 'reward'> & { reward: RewardKind };

/** Keys a flag or ROS parameter may override. */
export type DeciderOverrides = Partial<Omit<DeciderSpecInput, 'method'>>;

/** The schema's defaults, for help texts (one source for flags, files and parameters). */
export const DECIDER_DEFAULTS = DeciderSpecSchema.parse({ policy: 'expert' });

/**
 * Validates `raw` (a spec as read from `baseDir`) with `overrides` applied key by key, resolves paths
 * against `baseDir`, and checks the combinations the schema cannot: a reward for ras, a reward folder
 * for bt/robust, jitter only on the expert. `what` names the source in errors.
 */
export function resolveDeciderSpec(raw: unknown, baseDir: string, overrides: DeciderOverrides = {}, what = 'decider spec', asFlags = false): DeciderSpec {
  // on the command line a field is named by the flag that sets it (--reward-dir), else as the spec's key
  const name = (k: keyof DeciderOverrides) => (asFlags ? `--${k === 'seed' ? 'decider-seed' : k.replace(/([A-Z])/g, '-$1').toLowerCase()}` : `${what}: ${k}`);
  const base = parseOrThrow(DeciderSpecSchema, raw, what);
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as DeciderOverrides;
  // A policy given as an override is relative to the working directory, the file's own paths to the file.
  const fromFile = { ...base, policy: resolvePolicy(base.policy, baseDir), ...(base.rewardDir ? { rewardDir: resolve(baseDir, base.rewardDir) } : {}) };
  const merged = parseOrThrow(DeciderSpecSchema, { ...fromFile, ...given, ...(given.rewardDir ? { rewardDir: resolve(given.rewardDir) } : {}), ...(given.policy ? { policy: resolvePolicy(given.policy, '.') } : {}) }, what);
  // Selecting without a reward drops the file's reward (it would not be used); the file's label no longer fits an overridden spec.
  const unscored = given.select !== undefined && given.select !== 'ras' && given.reward === undefined;
  const reward: RewardKind = unscored ? 'none' : (merged.reward ?? (merged.select === 'ras' && merged.policy !== 'expert' && merged.policy !== 'random' ? 'implicit' : 'none'));
  const spec: DeciderSpec = { ...merged, reward };
  if (unscored) delete spec.rewardDir;
  if (Object.keys(given).length > 0) delete spec.method;
  // The expert and random proposers rank by proposal order unless a reward is named; a policy needs one for ras.
  const ordered = (spec.policy === 'expert' && spec.noise === 0) || spec.policy === 'random';
  if (spec.select === 'ras' && spec.reward === 'none' && !ordered)
    throw new FieldError(name('reward'), `${spec.policy === 'expert' ? 'bt or robust' : 'implicit, bt or robust'} with select ras (or select first|random)`, spec.reward);
  if ((spec.reward === 'bt' || spec.reward === 'robust') && !spec.rewardDir)
    throw new FieldError(name('rewardDir'), `a folder written by pamstack train reward (reward ${spec.reward} needs one)`, undefined);
  if (spec.reward === 'implicit' && (spec.policy === 'expert' || spec.policy === 'random'))
    throw new FieldError(name('reward'), 'bt or robust with a reward folder (the expert and random proposers have no implicit reward)', spec.reward);
  if (spec.noise > 0 && spec.policy !== 'expert') throw new FieldError(name('noise'), '0 unless policy is expert (it jitters the expert)', spec.noise);
  return spec;
}

function resolvePolicy(policy: string, baseDir: string): string {
  return policy === 'expert' || policy === 'random' || isAbsolute(policy) ? policy : resolve(baseDir, policy);
}

/**
 * The spec a `--policy` value names: `expert`, `random`, a checkpoint folder (policy.json), or a task
 * folder with default.json (policies/<task>); `overrides` replace single keys. Refused naming
 * `--policy` (or `field`) with the accepted forms.
 */
export function deciderSpecFor(policy: string, overrides: DeciderOverrides = {}, field = 'policy'): DeciderSpec {
  const asFlags = field.startsWith('--');
  const rest = { ...overrides };
  delete rest.policy;
  if (policy === 'expert' || policy === 'random') return resolveDeciderSpec({ policy }, '.', rest, field, asFlags);
  const dir = resolve(policy);
  const file = join(dir, DECIDER_FILE);
  if (existsSync(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new FieldError(file, 'a JSON decider spec', (e as Error).message);
    }
    return resolveDeciderSpec(raw, dir, rest, file, asFlags);
  }
  if (existsSync(join(dir, 'policy.json'))) return resolveDeciderSpec({ policy: dir }, '.', rest, field, asFlags);
  throw new FieldError(field, 'expert, random, a policy checkpoint folder (policy.json) or a task folder with default.json', policy);
}

/** The spec of a task folder (policies/<task>), or null when it has no default.json. */
export function readTaskDecider(dir: string): DeciderSpec | null {
  return existsSync(join(dir, DECIDER_FILE)) ? deciderSpecFor(dir) : null;
}

/** The spec as plain JSON with paths relative to `root` where they lie inside it (for --json and logs). */
export function describeSpec(spec: DeciderSpec, root = process.cwd()): Record<string, unknown> {
  const rel = (p: string) => (isAbsolute(p) && p.startsWith(`${resolve(root)}/`) ? p.slice(resolve(root).length + 1) : p);
  return { ...spec, policy: rel(spec.policy), ...(spec.rewardDir ? { rewardDir: rel(spec.rewardDir) } : {}) };
}
