// Agents that act in a World for `pamstack eval`: the scripted expert, a random baseline, and (added by
// the policy engineer) a trained policy directory. `resolveAgent` maps the --policy flag to one.
import type { Candidate } from '../core/episode.ts';
import { FieldError } from '../core/errors.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import type { Rng } from '../core/rng.ts';
import type { World } from '../core/world.ts';

/** What an agent answers at one state: the primitive to run (null: hold, which ends the episode) and the candidates it considered. */
export interface AgentDecision {
  primitive: Primitive | null;
  candidates?: Candidate[];
  holdReason?: string;
}

export interface Agent {
  readonly name: string;
  /** Called at the start of every episode with the episode seed. */
  reset?(seed: number): void;
  act(world: World, obs: PointCloud, rng: Rng): Promise<AgentDecision>;
}

/** How a policy picks among its candidates (only policies use it; the expert and random ignore it). */
export const SELECT_MODES = ['ras', 'first', 'random'] as const;
export type SelectMode = (typeof SELECT_MODES)[number];

export interface AgentOptions {
  select: SelectMode;
  /** Candidates a policy samples per state. @default 8 */
  candidates?: number;
  /** With select ras: the reward that ranks candidates. @default 'implicit' (the policy dir is a DPO model) */
  reward?: 'implicit' | 'bt' | 'robust';
  /** With reward bt|robust: folder written by `pamstack train reward`. */
  rewardDir?: string;
  /** Robust reward: rank by μ − lcb·σ. @default 0 */
  lcb?: number;
  /** Implicit reward: noise draws per candidate. @default 100 (DeformPAM) */
  draws?: number;
}

/** The scripted expert of the sim world: runs the first (best) of its acceptable actions, lists all as candidates. */
export function expertAgent(k = 10): Agent {
  return {
    name: 'expert',
    async act(world, _obs, rng) {
      const acts = world.expertActions(k, rng);
      const candidates: Candidate[] = acts.map((p) => ({ primitive: p }));
      if (acts.length === 0) return { primitive: null, candidates, holdReason: 'the expert has no action for this state' };
      return { primitive: acts[0]!, candidates };
    },
  };
}

/**
 * The random baseline: the first point (pick, sweep start, left grasp) is a uniformly chosen point of
 * the observed object cloud (on the object, as DeformPAM snaps picks onto it); the second point is
 * uniform over the workspace's x,y at the first point's height, except for fling, whose second grasp is
 * also a random cloud point. Draws are repeated (up to 100) until the world accepts the primitive.
 */
export function randomAgent(): Agent {
  return {
    name: 'random',
    async act(world, obs, rng) {
      const n = Math.floor(obs.points.length / 3);
      const ws = world.workspace;
      const cloudPoint = (): [number, number, number] => {
        if (n === 0) return [rng.uniform(ws.min[0], ws.max[0]), rng.uniform(ws.min[1], ws.max[1]), ws.min[2] + 0.01];
        const i = rng.int(n);
        return [obs.points[i * 3]!, obs.points[i * 3 + 1]!, obs.points[i * 3 + 2]!];
      };
      let last: Primitive | null = null;
      for (let t = 0; t < 100; t++) {
        const a = cloudPoint();
        const b: [number, number, number] =
          world.primitive === 'fling' ? cloudPoint() : [rng.uniform(ws.min[0], ws.max[0]), rng.uniform(ws.min[1], ws.max[1]), a[2]];
        last = { kind: world.primitive, a, b };
        if (!world.checkPrimitive(last)) return { primitive: last, candidates: [{ primitive: last }] };
      }
      return { primitive: null, candidates: last ? [{ primitive: last, safe: false }] : [], holdReason: 'no acceptable random primitive in 100 draws' };
    },
  };
}

/** The agent for a --policy value: `expert`, `random` (a policy directory branch is added by the policy module). */
export async function resolveAgent(policy: string, opts: AgentOptions): Promise<Agent> {
  if (policy === 'expert') return expertAgent();
  if (policy === 'random') return randomAgent();
  // a policy checkpoint directory (src/stack/policy-agent.ts); ras needs a reward on top of the policy
  if ((await import('node:fs')).existsSync(`${policy}/policy.json`)) {
    if (opts.select === 'ras') {
      const { loadRasAgent } = await import('./ras-agent.ts');
      const reward = opts.reward ?? 'implicit';
      return loadRasAgent(policy, {
        reward,
        n: opts.candidates ?? 8,
        ...(opts.rewardDir ? { rewardDir: opts.rewardDir } : {}),
        ...(opts.lcb !== undefined ? { lcb: opts.lcb } : {}),
        ...(opts.draws !== undefined ? { draws: opts.draws } : {}),
      });
    }
    return (await import('./policy-agent.ts')).loadPolicyAgent(policy, { select: opts.select, n: opts.candidates ?? 8 });
  }
  throw new FieldError('policy', 'expert, random or a policy directory', policy);
}
