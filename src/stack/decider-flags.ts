// The flags every deciding command shares (eval, demo, label --collect, transfer-collect): --policy names
// a spec (a task folder, a checkpoint, expert, random) and each other flag overrides one key of it.
import type { Command } from 'commander';
import { z } from 'zod';
import { DECIDER_DEFAULTS, REWARD_KINDS, SELECT_MODES, type DeciderOverrides } from './decider-spec.ts';
import type { World } from '../core/world.ts';
import { CliError, intFlag, numFlag } from './command-kit.ts';
import type { Decider } from './decider.ts';
import type { DeciderSpec } from './decider-spec.ts';

/** Flag values (strings from commander) for the spec keys; absent: the spec's value (or the schema default). */
export const DeciderFlags = {
  select: z.enum(SELECT_MODES).optional(),
  reward: z.enum(REWARD_KINDS).optional(),
  rewardDir: z.string().min(1).optional(),
  candidates: intFlag(1, 256).optional(),
  lcb: numFlag(0, 10).optional(),
  draws: intFlag(1, 1000).optional(),
  steps: intFlag(1, 1000).optional(),
  eta: numFlag(0, 1).optional(),
  noise: numFlag(0, 1).optional(),
  deciderSeed: intFlag(0, 2 ** 32 - 1).optional(),
  backend: z.enum(['auto', 'onnx', 'tfjs']).optional(),
};

const d = DECIDER_DEFAULTS;
/** Adds the spec-key flags; none has a commander default, so a flag is an override exactly when given. */
export function addDeciderOptions(cmd: Command): Command {
  return cmd
    .option('--select <mode>', `candidate selection: ${SELECT_MODES.join(' | ')} (default: the folder's, else ${d.select})`)
    .option('--reward <r>', `with --select ras: ${REWARD_KINDS.join(' | ')} (implicit: the policy is a DPO fine-tune)`)
    .option('--reward-dir <dir>', 'with --reward bt|robust: folder written by pamstack train reward')
    .option('--candidates <n>', `candidates proposed per state (default: the folder's, else ${d.candidates})`)
    .option('--lcb <k>', `robust reward: rank by μ − k·σ (default: the folder's, else ${d.lcb})`)
    .option('--draws <m>', `implicit reward: noise draws per candidate (default ${d.draws})`)
    .option('--steps <k>', `DDIM steps of the policy sampler (default ${d.steps})`)
    .option('--eta <x>', `DDIM eta (default ${d.eta})`)
    .option('--noise <m>', 'with --policy expert: jitter the expert actions by this std (m), giving candidates of mixed quality')
    .option('--decider-seed <s>', `mixed into every decision's seed (default ${d.seed})`)
    .option('--backend <b>', `inference: onnx (onnxruntime-node) | tfjs | auto (onnx where it loads; default ${d.backend})`);
}

/** The overrides the given flags make (parsed with DeciderFlags). */
export function deciderOverrides(f: { [K in keyof typeof DeciderFlags]?: z.output<(typeof DeciderFlags)[K]> }): DeciderOverrides {
  const o: DeciderOverrides = {
    select: f.select,
    reward: f.reward,
    rewardDir: f.rewardDir,
    candidates: f.candidates,
    lcb: f.lcb,
    draws: f.draws,
    steps: f.steps,
    eta: f.eta,
    noise: f.noise,
    seed: f.deciderSeed,
    backend: f.backend,
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as DeciderOverrides;
}

/**
 * The decider of a command's `--policy`, for a world the command already opened: a spec that cannot
 * load (a missing checkpoint, a reward folder of the wrong kind) disposes the world and is refused
 * naming --policy.
 */
export async function loadCommandDecider(world: World, spec: DeciderSpec): Promise<Decider> {
  try {
    // loaded here, not at the top: commands that never decide start without the ML stack
    const { loadDecider } = await import('./decider.ts');
    return await loadDecider(spec);
  } catch (e) {
    world.dispose();
    throw new CliError(`--policy: ${(e as Error).message}`);
  }
}
