// The RAS agent for eval: sample N candidates from the policy, score them with a reward, pick the best safe one.
import type { Candidate } from '../core/episode.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import type { Rng } from '../core/rng.ts';
import type { ActionProposer, CandidateScorer } from '../core/stages.ts';
import type { World } from '../core/world.ts';
import { candidateFeatures, type FeatureConfig } from '../preference/features.ts';
import type { RewardModel } from '../preference/reward-model.ts';
import { selectAction, type SafetyConfig } from '../select/index.ts';
import { evaluate, type EpisodeResult } from './evaluate.ts';

/** The rewards RAS can rank by. */
export const RAS_REWARDS = ['implicit', 'bt', 'robust'] as const;
export type RasReward = (typeof RAS_REWARDS)[number];

/** What an agent answers at one state: the primitive to run (null: hold) and every candidate with its verdict. */
export interface AgentAction {
  primitive: Primitive | null;
  candidates: Candidate[];
  holdReason?: string;
}

/** The eval seam (structurally the `Agent` of src/stack/agents.ts). */
export interface RasAgentLike {
  readonly name: string;
  act(world: World, obs: PointCloud, rng: Rng): Promise<AgentAction>;
}

/**
 * @default n 8; lcb 0 (robust reward: rank by μ − lcb·σ); safety: table clearance 0
 */
export interface RasAgentOptions {
  proposer: ActionProposer;
  scorer: CandidateScorer;
  n?: number;
  lcb?: number;
  safety?: Partial<SafetyConfig>;
  /** Mixed into every decision's sampling/scoring seed. @default 0 */
  seed?: number;
}

/** Reward-guided action selection: propose N, score, filter unsafe ones (workspace, reach, table, world veto), best first. */
export class RasAgent implements RasAgentLike {
  readonly name: string;
  readonly #o: RasAgentOptions;

  constructor(o: RasAgentOptions) {
    this.#o = o;
    this.name = `ras(${o.proposer.name}, ${o.scorer.name})`;
  }

  async act(world: World, obs: PointCloud, rng: Rng): Promise<AgentAction> {
    const seed = (rng.nextU32() ^ Math.imul(this.#o.seed ?? 0, 0x9e3779b1)) >>> 0;
    const cands = await this.#o.proposer.propose(obs, this.#o.n ?? 8, seed);
    const scores = cands.length ? await this.#o.scorer.score(obs, cands, seed) : [];
    const d = selectAction(cands, scores, {
      workspace: world.workspace,
      check: (p) => world.checkPrimitive(p),
      ...(this.#o.safety ? { safety: this.#o.safety } : {}),
      ...(this.#o.lcb ? { lcb: this.#o.lcb } : {}),
    });
    const out: AgentAction = { primitive: d.chosen === null ? null : cands[d.chosen]!, candidates: d.candidates };
    if (d.holdReason) out.holdReason = d.holdReason;
    return out;
  }
}

/** A CandidateScorer from an explicit reward model (bt: reward; robust: μ with σ as std) over table-frame features. */
export function rewardModelScorer(model: RewardModel, features: FeatureConfig, workspace: World['workspace']): CandidateScorer {
  return {
    name: model.config.model,
    score: async (cloud, candidates) => model.score(candidateFeatures(cloud, workspace, candidates, features)),
  };
}

/** A CandidateScorer that scores uniformly at random (the random-of-N baseline through the same safety filter). */
export function randomScorer(): CandidateScorer {
  return {
    name: 'random',
    score: async (_c, candidates, seed) => {
      let x = seed >>> 0 || 1;
      return candidates.map(() => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return { score: (x >>> 0) / 4294967296 };
      });
    },
  };
}

/** A CandidateScorer preferring earlier candidates (SL-only: the first safe sample). */
export function firstScorer(): CandidateScorer {
  return { name: 'first', score: async (_c, candidates) => candidates.map((_, i) => ({ score: -i })) };
}

/** Success rate, mean steps and mean final metrics over episodes on seeds seed, seed+1, … */
export interface EpisodeSummary {
  episodes: number;
  success_rate: number;
  mean_steps: number;
  iou: number;
  holds: number;
}

/** Runs `episodes` episodes of `agent` in `world` (reset per seed) up to the step limit or success. */
/**
 * Runs `episodes` seeded episodes through `evaluate` (the eval contract: a failure counts as the step
 * limit in mean_steps) and condenses them for the reward trainer's quick comparison table.
 */
export async function runEpisodes(
  world: World,
  agent: RasAgentLike,
  opts: { episodes: number; seed: number; onEpisode?: (i: number) => void },
): Promise<EpisodeSummary> {
  const { result, episodes } = await evaluate(world, agent, {
    episodes: opts.episodes,
    seed: opts.seed,
    quiet: true,
    ...(opts.onEpisode ? { onEpisode: (e: EpisodeResult) => opts.onEpisode!(e.episode) } : {}),
  });
  return {
    episodes: result.episodes,
    success_rate: result.success_rate,
    mean_steps: result.mean_steps,
    iou: result.metrics.iou ?? NaN,
    holds: episodes.filter((e) => e.holdReason !== undefined).length,
  };
}

/**
 * The stand-in proposer when no policy is given: the world's scripted expert actions with each point
 * jittered by N(0, noise²) in x and y (m), so some candidates are poor. Holds a reference to `world`.
 */
export function noisyExpertActionProposer(world: World, noise: number): ActionProposer {
  return {
    name: `expert±${noise}`,
    propose: async (_cloud, n, seed) => {
      const { Rng } = await import('../core/rng.ts');
      const rng = new Rng(seed);
      const base = world.expertActions(n, rng);
      if (base.length === 0) return [];
      return Array.from({ length: n }, (_, i) => {
        const p = base[i % base.length]!;
        return {
          kind: p.kind,
          a: [p.a[0] + rng.normal(0, noise), p.a[1] + rng.normal(0, noise), p.a[2]],
          b: [p.b[0] + rng.normal(0, noise), p.b[1] + rng.normal(0, noise), p.b[2]],
        } as Primitive;
      });
    },
  };
}

/** Options of `loadRasAgent`. @default n 8; seed 0; lcb 0; draws 100; steps 10; eta 1 */
export interface LoadRasOptions {
  reward: RasReward;
  /** bt/robust: folder with reward.json (pamstack train reward --out). */
  rewardDir?: string;
  n?: number;
  seed?: number;
  /** Robust reward: rank by μ − lcb·σ. */
  lcb?: number;
  /** Implicit reward: noise draws per candidate. */
  draws?: number;
  steps?: number;
  eta?: number;
}

/**
 * The proposer and scorer of reward-guided action selection, loaded from checkpoints (the eval agent
 * below and the ROS policy node use them):
 * - `implicit`: `policyDir` is a DPO fine-tune (pamstack train dpo, with dpo.json naming its frozen
 *   reference); candidates are sampled from the reference (SL) model, as DeformPAM does, and scored
 *   with the implicit reward of the DPO model against the reference;
 * - `bt` / `robust`: candidates from the policy in `policyDir`, scored by the reward model in `rewardDir`.
 * Unsafe candidates are filtered and the next best is taken; with none safe the agent holds.
 */
export async function loadRasStages(
  policyDir: string,
  opts: LoadRasOptions & { workspace: () => World['workspace'] | null },
): Promise<{ name: string; proposer: ActionProposer; scorer: CandidateScorer; dispose(): void }> {
  const [{ initBackend }, { loadPolicy }, { PolicyProposer }, fs, path] = await Promise.all([
    import('../nn/backend.ts'),
    import('../policy/checkpoint.ts'),
    import('../policy/proposer.ts'),
    import('node:fs'),
    import('node:path'),
  ]);
  await initBackend();
  const proposerOpts = { steps: opts.steps ?? 10, eta: opts.eta ?? 1, name: path.basename(path.resolve(policyDir)) };
  const toDispose: { dispose(): void }[] = [];
  let proposer: ActionProposer;
  let scorer: CandidateScorer;
  if (opts.reward === 'implicit') {
    const dpoFile = path.join(policyDir, 'dpo.json');
    if (!fs.existsSync(dpoFile)) throw new Error(`${policyDir}: no dpo.json; --reward implicit needs a policy from pamstack train dpo`);
    const meta = JSON.parse(fs.readFileSync(dpoFile, 'utf8')) as { reference?: unknown };
    if (typeof meta.reference !== 'string') throw new Error(`${dpoFile}: reference: expected the path of the supervised policy`);
    // dpo.json names the reference relative to the DPO folder (older files hold an absolute path).
    const ref = loadPolicy(path.resolve(policyDir, meta.reference), { trainable: false });
    const dpo = loadPolicy(policyDir, { trainable: false });
    toDispose.push(ref.model, dpo.model);
    proposer = new PolicyProposer(ref.model, ref.processor, proposerOpts);
    const { implicitReward } = await import('../preference/implicit-reward.ts');
    scorer = {
      name: 'implicit',
      score: async (cloud, candidates, seed) => {
        const obs = ref.processor.observation(cloud);
        const { actions } = ref.processor.actionsToObject(candidates, obs.frame);
        return implicitReward(dpo.model, ref.model, obs.points, actions, { draws: opts.draws ?? 100, seed });
      },
    };
  } else {
    if (!opts.rewardDir) throw new Error(`--reward ${opts.reward} needs --reward-dir (a folder written by pamstack train reward)`);
    const { model, features: feat } = await loadExplicitReward(opts.rewardDir, opts.reward);
    const pol = loadPolicy(policyDir, { trainable: false });
    toDispose.push(model, pol.model);
    proposer = new PolicyProposer(pol.model, pol.processor, proposerOpts);
    scorer = {
      name: opts.reward,
      // the workspace comes from the world at act() time; the features use the table frame
      score: async (cloud, candidates) => model.score(candidateFeatures(cloud, workspaceNow(), candidates, feat)),
    };
  }
  const workspaceNow = () => {
    const ws = opts.workspace();
    if (!ws) throw new Error(`--reward ${opts.reward}: the workspace is not known yet (score after the first observation)`);
    return ws;
  };
  return {
    name: `ras-${opts.reward}(${proposerOpts.name})`,
    proposer,
    scorer,
    dispose() {
      for (const d of toDispose) d.dispose();
    },
  };
}

/**
 * The explicit reward model in `rewardDir` (pamstack train reward / transfer) and its feature config
 * (files saved before configs were stored: the schema's defaults); refused when it is not a `reward`
 * model (any kind when `reward` is not given).
 */
export async function loadExplicitReward(rewardDir: string, reward?: string): Promise<{ model: RewardModel; features: FeatureConfig }> {
  const [{ loadRewardModel }, { FeatureConfigSchema }] = await Promise.all([import('../preference/reward-io.ts'), import('../preference/features.ts')]);
  const { model, features } = loadRewardModel(rewardDir);
  if (reward !== undefined && model.config.model !== reward) {
    model.dispose();
    throw new Error(`${rewardDir}: holds a ${model.config.model} reward model, --reward asked for ${reward}`);
  }
  return { model, features: features ?? FeatureConfigSchema.parse({}) };
}

/** An eval Agent doing reward-guided action selection from checkpoints (see loadRasStages). */
export async function loadRasAgent(policyDir: string, opts: LoadRasOptions): Promise<RasAgentLike & { dispose(): void }> {
  let currentWorkspace: World['workspace'] | null = null;
  const stages = await loadRasStages(policyDir, { ...opts, workspace: () => currentWorkspace });
  const agent = new RasAgent({ proposer: stages.proposer, scorer: stages.scorer, n: opts.n ?? 8, lcb: opts.lcb ?? 0, seed: opts.seed ?? 0 });
  return {
    name: stages.name,
    act(world, obs, rng) {
      currentWorkspace = world.workspace;
      return agent.act(world, obs, rng);
    },
    dispose: () => stages.dispose(),
  };
}
