// The primitive diffusion policy: config, model, processor, sampling, losses, training and checkpoints.
/** Strict zod configs (defaults = the benchmark network of ../shared/anchors/torch_policy_bench.py). */
export { PolicyConfigSchema, ACTION_DIM, type PolicyConfig, type PolicyConfigInput } from './config.ts';
/** squaredcos_cap_v2 schedule (ᾱ, β) and DDIM timestep lists. */
export { squaredCosCapV2, ddimTimesteps, cosineAlphaBar, type NoiseSchedule } from './schedule.ts';
/** The model: `encode(clouds [b,n,3]) → [b,C]`, `denoiser(encoding, {group})`, `predictNoise`, `clone({ trainable: false })` (frozen reference), `params.variables()` (trainable handle). */
export { PrimitiveDiffusionModel, type BoundDenoiser } from './model.ts';
/** `sampleCandidates(model, encoding, { n, steps, eta, seed })`: N candidates per encoding row, one batch. */
export { sampleCandidates, type SampleOptions } from './sampler.ts';
/** `epsError(model, encoding, x0, t, eps, { unordered })`: per-sample ε-MSE with caller-given t and ε (policy and reference see the same noise). */
export { epsError, noiseScales, type EpsErrorOptions } from './eps-error.ts';
/** `trainStep(vars, optimizer, loss)`: one AdamW step with any loss (supervised, Diffusion-DPO). */
export { trainStep } from './train-step.ts';
/** Table frame ↔ object frame, src/cloud preprocessing, pick snapping. */
export { PolicyProcessor, ProcessorConfigSchema, snapPicksToCloud, type PolicyObservation, type ProcessorConfig } from './processor.ts';
/** Supervised training from demonstration states (validation, resume, checkpoints, loss curve). */
export { trainPolicy, splitStates, validationLoss, TrainConfigSchema, type PolicyState, type TrainConfig } from './trainer.ts';
/** Self-describing checkpoints: `savePolicy`, `loadPolicy` (refuses corrupted or mismatched files). */
export { savePolicy, loadPolicy, readPolicyCheckpoint, readOptimizerState, type PolicyCheckpoint, type HistoryRow } from './checkpoint.ts';
/** The policy as an ActionProposer (table-frame cloud → N primitives). */
export { PolicyProposer, type PolicyProposerOptions } from './proposer.ts';
/** SVG of the training curves. */
export { lossCurveSvg } from './loss-curve.ts';
