// The policy's sampler on ONNX Runtime: PolicyProposer's candidates for the same seed, one graph run per decision.
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive, PrimitiveKind } from '../core/primitive.ts';
import type { ActionProposer } from '../core/stages.ts';
import { Rng } from '../core/rng.ts';
import { createOrtSession, floatTensor, type OrtSession, type OrtSessionOptions } from '../nn/onnx-runtime.ts';
import { loadPolicy } from './checkpoint.ts';
import { ACTION_DIM } from './config.ts';
import type { PrimitiveDiffusionModel } from './model.ts';
import { policySamplerGraph, policyWeights } from './onnx-graph.ts';
import { snapPicksToCloud, type PolicyObservation, type PolicyProcessor } from './processor.ts';
import type { PolicyProposerOptions } from './proposer.ts';

/** What one sampling returns (PolicyProposer.sample's shape). */
export interface ProposerSample {
  primitives: Primitive[];
  objectActions: Float32Array;
  observation: PolicyObservation;
}

/**
 * The noise sampleCandidates draws for `seed`: x_T [m, 6] first, then (eta > 0) one [m, 6] draw per
 * DDIM step, in that order from one Rng, so another runtime fed these gives the same candidates.
 */
export function samplerNoise(seed: number, m: number, steps: number, eta: number): { noise: Float32Array; z: Float32Array | null } {
  const rng = new Rng(seed);
  const noise = rng.fillNormal(new Float32Array(m * ACTION_DIM)) as Float32Array;
  if (!(eta > 0)) return { noise, z: null };
  const z = new Float32Array(steps * m * ACTION_DIM);
  for (let i = 0; i < steps; i++) rng.fillNormal(z.subarray(i * m * ACTION_DIM, (i + 1) * m * ACTION_DIM));
  return { noise, z };
}

/**
 * PolicyProposer on ONNX Runtime: the encoder and the whole DDIM loop are one graph built from the
 * model's weights; the noise is drawn in JS exactly as the tfjs sampler draws it. `sample` is async
 * (ORT runs asynchronously); everything else matches PolicyProposer.
 */
export class OnnxPolicyProposer implements ActionProposer {
  readonly name: string;
  readonly processor: PolicyProcessor;
  readonly kind: PrimitiveKind;
  readonly backend = 'onnx' as const;
  readonly steps: number;
  readonly eta: number;
  readonly #session: OrtSession;
  readonly #points: number;
  readonly #snap: boolean;
  /** Local features fix the point count; a plain PointNet takes any. */
  readonly #fixedPoints: boolean;

  private constructor(session: OrtSession, processor: PolicyProcessor, kind: PrimitiveKind, points: number, o: { steps: number; eta: number; snap: boolean; name: string; fixedPoints: boolean }) {
    this.#fixedPoints = o.fixedPoints;
    this.#session = session;
    this.processor = processor;
    this.kind = kind;
    this.#points = points;
    this.steps = o.steps;
    this.eta = o.eta;
    this.#snap = o.snap;
    this.name = o.name;
  }

  /** Builds the sampler graph from an already-loaded tfjs model (weights read once) and opens its session. */
  static async fromModel(
    model: PrimitiveDiffusionModel,
    processor: PolicyProcessor,
    opts: PolicyProposerOptions & OrtSessionOptions = {},
  ): Promise<OnnxPolicyProposer> {
    const kind = opts.kind ?? model.config.kinds[0]!;
    const kindIndex = model.kindIndex(kind);
    const steps = opts.steps ?? 10;
    const eta = opts.eta ?? 1;
    const bytes = policySamplerGraph(model.config, await policyWeights(model), model.schedule, { steps, eta, kindIndex });
    const session = await createOrtSession(bytes, opts);
    return new OnnxPolicyProposer(session, processor, kind, model.config.points, { steps, eta, snap: opts.snapPicks ?? true, name: opts.name ?? 'policy', fixedPoints: model.config.local !== null });
  }

  /** From a policy folder (policy.json + weights.bin). */
  static async fromDir(dir: string, opts: PolicyProposerOptions & OrtSessionOptions = {}): Promise<OnnxPolicyProposer> {
    const { model, processor } = loadPolicy(dir, { trainable: false });
    try {
      return await OnnxPolicyProposer.fromModel(model, processor, opts);
    } finally {
      model.dispose();
    }
  }

  /** Object-frame candidates [n, 6] for an object-frame cloud [points, 3] (the graph's own contract). */
  async sampleObject(points: Float32Array, n: number, seed: number): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`n: expected an integer ≥ 1, received ${n}`);
    const count = this.#fixedPoints ? this.#points : points.length / 3;
    if (points.length !== count * 3 || count < 1) throw new Error(`points: expected ${this.#fixedPoints ? this.#points : 'k'} × 3 numbers, received ${points.length}`);
    const { noise, z } = samplerNoise(seed, n, this.steps, this.eta);
    const feeds: Record<string, unknown> = {
      points: await floatTensor(points, [1, count, 3]),
      noise: await floatTensor(noise, [n, ACTION_DIM]),
    };
    if (z) feeds.z = await floatTensor(z, [this.steps, n, ACTION_DIM]);
    const out = await this.#session.run(feeds as never);
    return Float32Array.from(out.actions!.data as Float32Array);
  }

  /** Candidates for a table-frame cloud with their object-frame rows [n, 6] and the observation used. */
  async sample(cloud: PointCloud, n: number, seed: number): Promise<ProposerSample> {
    const observation = this.processor.observation(cloud);
    const objectActions = await this.sampleObject(observation.points, n, seed);
    let primitives = this.processor.actionsToTable(objectActions, this.kind, observation.frame);
    if (this.#snap) primitives = snapPicksToCloud(primitives, observation.tablePoints);
    return { primitives, objectActions, observation };
  }

  async propose(cloud: PointCloud, n: number, seed: number): Promise<Primitive[]> {
    return (await this.sample(cloud, n, seed)).primitives;
  }

  /** Frees the session. */
  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
