// The policy's configuration: one strict zod schema with every knob defaulted (the benchmark network by default).
import { z } from 'zod';
import { PrimitiveKindSchema } from '../core/primitive.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** DP3-style encoder: per-point MLP (Linear → LayerNorm → ReLU per layer), max over points, Linear → LayerNorm. */
export const PointNetEncoderConfigSchema = z.strictObject({
  kind: z.literal('pointnet'),
  /** Widths of the per-point MLP. @default [64, 128, 256] */
  hidden: z.array(int(1, 4096)).min(1).max(8).default([64, 128, 256]),
  /** Width of the cloud's condition vector. @default 128 */
  out: int(1, 4096).default(128),
});

export const EncoderConfigSchema = z.discriminatedUnion('kind', [PointNetEncoderConfigSchema]);

/** MLP denoiser over the 6 numbers of one primitive: [x_t, emb(t), cloud (, kind)] → Linear+Mish ×layers → Linear. */
export const DenoiserConfigSchema = z.strictObject({
  /** @default 512 */
  hidden: int(8, 8192).default(512),
  /** Hidden Linear+Mish layers. @default 3 */
  layers: int(1, 16).default(3),
  /** Width of the sinusoidal timestep embedding (even). @default 128 */
  timeEmbedding: int(2, 4096).refine((v) => v % 2 === 0, { message: 'must be even' }).default(128),
});

/**
 * Local conditioning of the denoiser: per-point features (the encoder's last per-point layer and the
 * cloud's vector) averaged around the noisy pick and place points with Gaussian kernels of these radii
 * (src/nn/local-features.ts), so the denoiser sees the object near the point it is moving.
 */
export const LocalConfigSchema = z.strictObject({
  /** Per-point feature width. @default 64 */
  width: int(1, 1024).default(64),
  /** Kernel radii σ in object units (the processor's scale turns them into metres). @default [0.05, 0.15] */
  radii: z.array(z.number().positive().max(10)).min(1).max(8).default([0.05, 0.15]),
});

export const DiffusionConfigSchema = z.strictObject({
  /** Training steps. @default 100 */
  T: int(2, 10000).default(100),
  schedule: z.literal('squaredcos_cap_v2').default('squaredcos_cap_v2'),
  prediction: z.literal('epsilon').default('epsilon'),
  /** Samples are clipped to ±clip (the object frame is scaled so actions lie in ±1). @default 1 */
  clip: z.number().positive().max(100).default(1),
});

export const PolicyConfigSchema = z.strictObject({
  /** Primitive kinds this policy proposes; with several, the kind is a condition. @default ['pick_place'] */
  kinds: z.array(PrimitiveKindSchema).min(1).default(['pick_place']),
  /** Points per cloud at the encoder's input. @default 1024 */
  points: int(8, 65536).default(1024),
  encoder: EncoderConfigSchema.default({ kind: 'pointnet', hidden: [64, 128, 256], out: 128 }),
  denoiser: DenoiserConfigSchema.default({ hidden: 512, layers: 3, timeEmbedding: 128 }),
  /** Local conditioning (null: the cloud enters the denoiser only as one vector, as in DP3). @default null */
  local: LocalConfigSchema.nullable().default(null),
  diffusion: DiffusionConfigSchema.default({ T: 100, schedule: 'squaredcos_cap_v2', prediction: 'epsilon', clip: 1 }),
});
export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;
export type PolicyConfigInput = z.input<typeof PolicyConfigSchema>;

/** Dimensions of one action: two 3D points. */
export const ACTION_DIM = 6;
