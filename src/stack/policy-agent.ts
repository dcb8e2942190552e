// A trained policy directory as an eval/demo Agent: sample N candidates, keep the safe ones, pick first or at random.
import { basename, resolve } from 'node:path';
import type { Candidate } from '../core/episode.ts';
import { initBackend } from '../nn/backend.ts';
import { loadPolicy } from '../policy/checkpoint.ts';
import { PolicyProposer } from '../policy/proposer.ts';
import type { Agent } from './agents.ts';

export interface PolicyAgentOptions {
  /** `first`: the first safe candidate in sampling order; `random`: a uniformly chosen safe one. */
  select: 'first' | 'random';
  /** Candidates per state. @default 8 */
  n?: number;
  /** Mixed into every decision's sampling seed. @default 0 */
  seed?: number;
  /** DDIM steps. @default 10 */
  steps?: number;
  /** DDIM eta. @default 1 */
  eta?: number;
}

/** Loads `dir` (a policy checkpoint) on the chosen tfjs backend and wraps it as an Agent; dispose() frees its tensors. */
export async function loadPolicyAgent(dir: string, opts: PolicyAgentOptions): Promise<Agent & { dispose(): void; proposer: PolicyProposer }> {
  await initBackend();
  const { model, processor } = loadPolicy(dir, { trainable: false });
  const n = opts.n ?? 8;
  let proposer: PolicyProposer | null = null;
  const name = `policy(${basename(resolve(dir))}, ${opts.select})`;
  const make = (kind: (typeof model.config.kinds)[number]) =>
    new PolicyProposer(model, processor, { kind, steps: opts.steps ?? 10, eta: opts.eta ?? 1, name });
  return {
    name,
    get proposer() {
      return (proposer ??= make(model.config.kinds[0]!));
    },
    async act(world, obs, rng) {
      if (!proposer || proposer.kind !== world.primitive) proposer = make(world.primitive);
      const seed = (rng.nextU32() ^ Math.imul(opts.seed ?? 0, 0x9e3779b1)) >>> 0;
      const { primitives } = proposer.sample(obs, n, seed);
      const candidates: Candidate[] = primitives.map((p) => {
        const why = world.checkPrimitive(p);
        return why ? { primitive: p, safe: false, reason: why } : { primitive: p, safe: true };
      });
      const safe = candidates.map((c, i) => (c.safe ? i : -1)).filter((i) => i >= 0);
      if (!safe.length) return { primitive: null, candidates, holdReason: `none of the ${n} candidates is executable (${candidates[0]?.reason ?? 'no candidates'})` };
      const pick = opts.select === 'first' ? safe[0]! : safe[rng.int(safe.length)]!;
      return { primitive: primitives[pick]!, candidates };
    },
    dispose() {
      model.dispose();
    },
  };
}
