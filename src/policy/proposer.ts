// The policy as an ActionProposer: table-frame cloud in, N table-frame candidate primitives out (one encoding, one batch).
import * as tf from '@tensorflow/tfjs';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive, PrimitiveKind } from '../core/primitive.ts';
import type { ActionProposer } from '../core/stages.ts';
import type { PrimitiveDiffusionModel } from './model.ts';
import { snapPicksToCloud, type PolicyObservation, type PolicyProcessor } from './processor.ts';
import { sampleCandidates } from './sampler.ts';

export interface PolicyProposerOptions {
  /** Primitive kind to propose (must be one of the policy's kinds). @default the policy's first kind */
  kind?: PrimitiveKind;
  /** DDIM steps. @default 10 */
  steps?: number;
  /** DDIM eta (DeformPAM's rope uses 1). @default 1 */
  eta?: number;
  /** Move picks onto the nearest object point (DeformPAM's nearest-pick override). @default true */
  snapPicks?: boolean;
  /** Shown in logs. @default 'policy' */
  name?: string;
}

/** Samples candidates from a trained policy; also exposes the object-frame rows for scorers that need them. */
export class PolicyProposer implements ActionProposer {
  readonly name: string;
  readonly model: PrimitiveDiffusionModel;
  readonly processor: PolicyProcessor;
  readonly kind: PrimitiveKind;
  readonly #o: Required<Omit<PolicyProposerOptions, 'kind' | 'name'>>;

  constructor(model: PrimitiveDiffusionModel, processor: PolicyProcessor, opts: PolicyProposerOptions = {}) {
    this.model = model;
    this.processor = processor;
    this.kind = opts.kind ?? model.config.kinds[0]!;
    model.kindIndex(this.kind);
    this.name = opts.name ?? 'policy';
    this.#o = { steps: opts.steps ?? 10, eta: opts.eta ?? 1, snapPicks: opts.snapPicks ?? true };
  }

  /** Candidates for a table-frame cloud with their object-frame rows [n, 6] and the observation used. */
  sample(cloud: PointCloud, n: number, seed: number): { primitives: Primitive[]; objectActions: Float32Array; observation: PolicyObservation } {
    const observation = this.processor.observation(cloud);
    const P = this.model.config.points;
    const kinds = [this.model.kindIndex(this.kind)];
    const out = tf.tidy(() => {
      const enc = this.model.encode(tf.tensor3d(observation.points, [1, P, 3]));
      return sampleCandidates(this.model, enc, { n, steps: this.#o.steps, eta: this.#o.eta, seed, kinds });
    });
    const objectActions = out.dataSync() as Float32Array;
    out.dispose();
    let primitives = this.processor.actionsToTable(objectActions, this.kind, observation.frame);
    if (this.#o.snapPicks) primitives = snapPicksToCloud(primitives, observation.tablePoints);
    return { primitives, objectActions, observation };
  }

  async propose(cloud: PointCloud, n: number, seed: number): Promise<Primitive[]> {
    return this.sample(cloud, n, seed).primitives;
  }
}
