// The one decision stage: observe → propose N candidates → score → select the best safe one, built once
// from a decider spec and used by eval, demo, label collection, transfer collection and the ROS policy node.
import { basename } from 'node:path';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive, PrimitiveKind } from '../core/primitive.ts';
import { deriveSeed, Rng } from '../core/rng.ts';
import type { ActionProposer, CandidateScorer, Decision } from '../core/stages.ts';
import type { World } from '../core/world.ts';
import { NoObjectPointsError, type PolicyObservation } from '../policy/processor.ts';
import type { FeatureConfig } from '../preference/features.ts';
import type { RewardModel } from '../preference/reward-model.ts';
import { selectAction, selectionOrder, type CandidateScore, type SafetyConfig } from '../select/index.ts';
import type { DeciderSpec } from './decider-spec.ts';

/** What a decision needs besides the cloud: where it may act, which primitive, its seed, and the world's veto. */
export interface DecisionContext {
  workspace: WorkspaceBox;
  kind: PrimitiveKind;
  /** The decision's seed (sampling noise, scoring noise, random draws). */
  seed: number;
  /** The simulated world, when there is one: the expert proposes from it and its checkPrimitive vetoes. */
  world?: World;
  /** An extra veto besides the safety filter (e.g. a robot's reach check); the world's is added when given. */
  check?: (p: Primitive) => string | null;
  safety?: Partial<SafetyConfig>;
}

/** Wall time of each stage of one decision, ms. */
export interface StageTimings {
  propose: number;
  score: number;
  select: number;
  total: number;
}

/** A decision with the order in which safe candidates are tried (the chosen first) and its stage timings. */
export interface TimedDecision extends Decision {
  /** Safe candidates from best to worst: the fallback order when the world refuses the chosen one. */
  fallback: number[];
  timings: StageTimings;
}

export interface Decider {
  readonly name: string;
  readonly spec: DeciderSpec;
  decide(cloud: PointCloud, ctx: DecisionContext): Promise<TimedDecision>;
  dispose(): void;
}

/** Candidates with what the proposer computed on the way (the policy's observation, reused by the scorer). */
export interface Proposal {
  primitives: Primitive[];
  observation?: PolicyObservation;
  /** Why no candidates were proposed (the decision holds with it). */
  holdReason?: string;
}

/** The propose stage: any ActionProposer, or one that also hands over its observation. */
export interface ProposeStage {
  readonly name: string;
  propose(cloud: PointCloud, n: number, ctx: DecisionContext): Promise<Proposal> | Proposal;
  dispose?(): void;
}

/** The score stage: higher is better; `std` is used by the LCB. */
export interface ScoreStage {
  readonly name: string;
  score(cloud: PointCloud, proposal: Proposal, ctx: DecisionContext): Promise<CandidateScore[]> | CandidateScore[];
  dispose?(): void;
}

/**
 * The decider of a spec. Checkpoints load through tfjs (initialised here); inference runs on the spec's
 * backend (ONNX Runtime by default where it loads). The policy's sampler is made per primitive kind on
 * first use.
 */
export async function loadDecider(spec: DeciderSpec): Promise<Decider> {
  const owned: { dispose(): void }[] = [];
  try {
    const backend = await resolveBackend(spec);
    const proposer = await proposeStageFor(spec, backend, owned);
    const scorer = await scoreStageFor(spec, backend, owned);
    return composeDecider(spec, proposer, scorer, () => owned.forEach((m) => m.dispose()));
  } catch (e) {
    owned.forEach((m) => m.dispose());
    throw e;
  }
}

/** A decider from given stages (e.g. a robot's own proposer module); `release` runs on dispose. */
export function composeDecider(spec: DeciderSpec, proposer: ProposeStage, scorer: ScoreStage, release: () => void = () => {}): Decider {
  const label = spec.method ?? (spec.select === 'ras' ? `ras-${spec.reward}` : spec.select);
  return {
    name: `${label}(${proposer.name}, ${scorer.name})`,
    spec,
    async decide(cloud, ctx) {
      const t0 = performance.now();
      const proposal = await proposer.propose(cloud, spec.candidates, ctx);
      const t1 = performance.now();
      const scores = proposal.primitives.length ? await scorer.score(cloud, proposal, ctx) : [];
      const t2 = performance.now();
      // the context's veto first, then the world's (what it would refuse at execution)
      const vetoes = [ctx.check, ctx.world && ((p: Primitive) => ctx.world!.checkPrimitive(p))].filter((v): v is (p: Primitive) => string | null => !!v);
      const check = vetoes.length ? (p: Primitive) => vetoes.reduce<string | null>((why, v) => why ?? v(p), null) : undefined;
      const selected = selectAction(proposal.primitives, scores, {
        workspace: ctx.workspace,
        lcb: spec.lcb,
        ...(check ? { check } : {}),
        ...(ctx.safety ? { safety: ctx.safety } : {}),
      });
      const d = proposal.holdReason && !proposal.primitives.length ? { ...selected, holdReason: proposal.holdReason } : selected;
      const fallback = selectionOrder(scores, spec.lcb).filter((i) => d.candidates[i]!.safe);
      const t3 = performance.now();
      return { ...d, fallback, timings: { propose: t1 - t0, score: t2 - t1, select: t3 - t2, total: t3 - t0 } };
    },
    dispose() {
      proposer.dispose?.();
      scorer.dispose?.();
      release();
    },
  };
}

/** An ActionProposer (core/stages.ts) as a propose stage. */
export function proposeStageOf(p: ActionProposer): ProposeStage {
  return { name: p.name, propose: async (cloud, n, ctx) => ({ primitives: await p.propose(cloud, n, ctx.seed) }) };
}

/** A CandidateScorer (core/stages.ts) as a score stage; null ranks by proposal order. */
export function scoreStageOf(s: CandidateScorer | null): ScoreStage {
  return s ? { name: s.name, score: (cloud, p, ctx) => s.score(cloud, p.primitives, ctx.seed) } : orderScorer('first');
}

/** The backend a spec runs on: `auto` is onnx where onnxruntime-node loads. */
export async function resolveBackend(spec: DeciderSpec): Promise<'onnx' | 'tfjs'> {
  if (spec.backend !== 'auto') return spec.backend;
  const { loadOrt } = await import('../nn/onnx-runtime.ts');
  return (await loadOrt()) ? 'onnx' : 'tfjs';
}

async function proposeStageFor(spec: DeciderSpec, backend: 'onnx' | 'tfjs', owned: { dispose(): void }[]): Promise<ProposeStage> {
  if (spec.policy === 'expert') return expertProposer(spec.noise);
  if (spec.policy === 'random') return randomProposer();
  const [{ initBackend }, { loadPolicy }, { PolicyProposer }, { OnnxPolicyProposer }] = await Promise.all([
    import('../nn/backend.ts'),
    import('../policy/checkpoint.ts'),
    import('../policy/proposer.ts'),
    import('../policy/onnx-proposer.ts'),
  ]);
  await initBackend({ log: null });
  // The implicit reward ranks samples of the frozen reference (DeformPAM): propose from it.
  const dir = spec.reward === 'implicit' ? (await import('../preference/dpo-file.ts')).readDpoFile(spec.policy).referenceDir : spec.policy;
  const { model, processor } = loadPolicy(dir, { trainable: false });
  owned.push(model);
  const name = basename(dir);
  const opts = (kind: PrimitiveKind) => ({ kind, steps: spec.steps, eta: spec.eta, name });
  // one sampler per primitive kind, made on first use (the ONNX graph fixes the kind)
  const byKind = new Map<PrimitiveKind, Promise<{ sample(cloud: PointCloud, n: number, seed: number): Proposal | Promise<Proposal> }>>();
  const make = async (kind: PrimitiveKind) => {
    if (backend === 'tfjs') return new PolicyProposer(model, processor, opts(kind));
    const p = await OnnxPolicyProposer.fromModel(model, processor, opts(kind));
    owned.push({ dispose: () => void p.dispose() });
    return p;
  };
  return {
    name: `${name}@${backend}`,
    async propose(cloud, n, ctx) {
      let p = byKind.get(ctx.kind);
      if (!p) byKind.set(ctx.kind, (p = make(ctx.kind)));
      try {
        const { primitives, observation } = await (await p).sample(cloud, n, ctx.seed);
        return { primitives, observation };
      } catch (e) {
        // Nothing of the object in view is a state of the world (flung off the table, occluded), not a fault: hold.
        if (e instanceof NoObjectPointsError) return { primitives: [], holdReason: `hold: ${e.message}` };
        throw e;
      }
    },
  };
}

async function scoreStageFor(spec: DeciderSpec, backend: 'onnx' | 'tfjs', owned: { dispose(): void }[]): Promise<ScoreStage> {
  if (spec.select !== 'ras' || spec.reward === 'none') return orderScorer(spec.select === 'random' ? 'random' : 'first');
  if (spec.reward === 'implicit') {
    const [{ loadPolicy }, { readDpoFile }, { implicitReward }, { OnnxImplicitReward }] = await Promise.all([
      import('../policy/checkpoint.ts'),
      import('../preference/dpo-file.ts'),
      import('../preference/implicit-reward.ts'),
      import('../preference/onnx-implicit-reward.ts'),
    ]);
    const ref = loadPolicy(readDpoFile(spec.policy).referenceDir, { trainable: false });
    owned.push(ref.model);
    const dpo = loadPolicy(spec.policy, { trainable: false });
    owned.push(dpo.model);
    const onnx = backend === 'onnx' ? await OnnxImplicitReward.fromModels(dpo.model, ref.model) : null;
    if (onnx) owned.push({ dispose: () => void onnx.dispose() });
    return {
      name: `implicit@${backend}`,
      score(cloud, proposal, ctx) {
        const obs = proposal.observation ?? ref.processor.observation(cloud);
        const { actions } = ref.processor.actionsToObject(proposal.primitives, obs.frame);
        const o = { draws: spec.draws, seed: ctx.seed };
        return onnx ? onnx.score(obs.points, actions, o) : implicitReward(dpo.model, ref.model, obs.points, actions, o);
      },
    };
  }
  const { initBackend } = await import('../nn/backend.ts');
  await initBackend({ log: null });
  const { model, features } = await loadExplicitReward(spec.rewardDir!, spec.reward);
  owned.push(model);
  if (backend === 'tfjs') return rewardScoreStage(model, features);
  const [{ OnnxRewardHead }, { candidateFeatures }] = await Promise.all([import('../preference/onnx-reward.ts'), import('../preference/features.ts')]);
  const head = await OnnxRewardHead.fromModel(model);
  owned.push({ dispose: () => void head.dispose() });
  return {
    name: `${model.config.model}@onnx`,
    score: (cloud, proposal, ctx) => head.score(candidateFeatures(cloud, ctx.workspace, proposal.primitives, features)),
  };
}

/** An explicit reward model (bt: reward; robust: μ with σ as std) over the candidates' features in the context's workspace. */
export function rewardScoreStage(model: RewardModel, features: FeatureConfig): ScoreStage {
  return {
    name: model.config.model,
    score: async (cloud, proposal, ctx) => {
      const { candidateFeatures } = await import('../preference/features.ts');
      return model.score(candidateFeatures(cloud, ctx.workspace, proposal.primitives, features));
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
    throw new Error(`${rewardDir}: holds a ${model.config.model} reward model, reward ${reward} was asked for`);
  }
  return { model, features: features ?? FeatureConfigSchema.parse({}) };
}

/** Scores that keep proposal order (`first`) or shuffle it by the decision seed (`random`). */
function orderScorer(how: 'first' | 'random'): ScoreStage {
  if (how === 'first') return { name: 'first', score: (_c, p) => p.primitives.map((_, i) => ({ score: -i })) };
  return {
    name: 'random',
    score: (_c, p, ctx) => {
      const rng = new Rng(ctx.seed);
      return p.primitives.map(() => ({ score: rng.next() }));
    },
  };
}

/**
 * The sim's scripted expert: its acceptable actions for the state, best first; with `noise` > 0 each
 * point is jittered by N(0, noise²) in x and y (m), padding by repetition to N (a stand-in proposer
 * whose candidates are of mixed quality).
 */
export function expertProposer(noise: number): ProposeStage {
  return {
    name: noise > 0 ? `expert±${noise}` : 'expert',
    propose(_cloud, n, ctx) {
      if (!ctx.world) throw new Error('policy expert: needs the simulated world in the same process');
      const rng = new Rng(ctx.seed);
      const base = ctx.world.expertActions(n, rng);
      if (noise === 0 || base.length === 0) return { primitives: base };
      const primitives = Array.from({ length: n }, (_, i): Primitive => {
        const p = base[i % base.length]!;
        return {
          kind: p.kind,
          a: [p.a[0] + rng.normal(0, noise), p.a[1] + rng.normal(0, noise), p.a[2]],
          b: [p.b[0] + rng.normal(0, noise), p.b[1] + rng.normal(0, noise), p.b[2]],
        };
      });
      return { primitives };
    },
  };
}

/**
 * The random baseline: the first point (pick, sweep start, left grasp) is a uniformly chosen point of
 * the observed cloud (on the object, as DeformPAM snaps picks onto it; a uniform workspace point when the
 * cloud is empty); the second is uniform over the workspace's x,y at the first point's height, except for
 * fling, whose second grasp is also a cloud point.
 */
export function randomProposer(): ProposeStage {
  return {
    name: 'random',
    propose(cloud, n, ctx) {
      const rng = new Rng(ctx.seed);
      const ws = ctx.workspace;
      const m = Math.floor(cloud.points.length / 3);
      const cloudPoint = (): [number, number, number] => {
        if (m === 0) return [rng.uniform(ws.min[0], ws.max[0]), rng.uniform(ws.min[1], ws.max[1]), ws.min[2] + 0.01];
        const i = rng.int(m);
        return [cloud.points[i * 3]!, cloud.points[i * 3 + 1]!, cloud.points[i * 3 + 2]!];
      };
      const primitives = Array.from({ length: n }, (): Primitive => {
        const a = cloudPoint();
        const b: [number, number, number] = ctx.kind === 'fling' ? cloudPoint() : [rng.uniform(ws.min[0], ws.max[0]), rng.uniform(ws.min[1], ws.max[1]), a[2]];
        return { kind: ctx.kind, a, b };
      });
      return { primitives };
    },
  };
}

/** Decides with `a` with probability `shareA` (drawn from each decision's seed), else with `b` (segments of mixed quality). */
export function mixtureDecider(a: Decider, b: Decider, shareA: number): Decider {
  return {
    name: `${a.name}×${shareA.toFixed(2)}+${b.name}`,
    spec: a.spec,
    decide: (cloud, ctx) => (new Rng(ctx.seed).next() < shareA ? a : b).decide(cloud, { ...ctx, seed: deriveSeed(ctx.seed, 1) }),
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}
