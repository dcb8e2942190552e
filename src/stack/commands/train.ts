// `pamstack train policy`: supervised training of the primitive diffusion policy from `pamstack collect` demonstrations.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import YAML from 'yaml';
import { readDemonstrations } from '../../../sim/collect-format.ts';
import { parseOrThrow } from '../../core/errors.ts';
import { initBackend } from '../../nn/backend.ts';
import { CheckpointError } from '../../nn/checkpoint.ts';
import { loadPolicy, readOptimizerState } from '../../policy/checkpoint.ts';
import { PolicyConfigSchema } from '../../policy/config.ts';
import { PrimitiveDiffusionModel } from '../../policy/model.ts';
import { PolicyProcessor, ProcessorConfigSchema } from '../../policy/processor.ts';
import { TrainConfigSchema, trainPolicy, type PolicyState } from '../../policy/trainer.ts';
import { action, CliError, intFlag, numFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';

const Flags = z.strictObject({
  data: z.string().min(1),
  out: z.string().min(1),
  config: z.string().min(1).optional(),
  epochs: intFlag(1, 1_000_000).optional(),
  batchStates: intFlag(1, 4096).optional(),
  noiseDraws: intFlag(1, 1024).optional(),
  lr: numFlag(1e-8, 1).optional(),
  valFraction: numFlag(0, 0.5).optional(),
  rotation: numFlag(0, 180).optional(),
  points: intFlag(8, 65536).optional(),
  maxStates: intFlag(1).optional(),
  checkpointEvery: intFlag(1).optional(),
  seed: intFlag(0, 2 ** 31 - 1).optional(),
  resume: z.boolean().optional(),
  init: z.string().min(1).optional(),
  backend: z.string().optional(),
  quiet: z.boolean().optional(),
  json: z.boolean().optional(),
});

/** A --config file: policy (network), processor and train sections, each strict. */
const ConfigFileSchema = z.strictObject({
  policy: PolicyConfigSchema.partial().optional(),
  processor: ProcessorConfigSchema.partial().optional(),
  train: TrainConfigSchema.partial().optional(),
});

export function register(program: Command): void {
  parentCommand(program, 'train', 'train a policy, a DPO fine-tune or a reward model')
    .command('policy')
    .description('train the primitive diffusion policy on demonstrations (pamstack collect); writes a self-describing checkpoint')
    .requiredOption('--data <dir>', 'demonstration set written by pamstack collect')
    .requiredOption('--out <dir>', 'checkpoint directory (policy.json, weights.bin, optimizer.bin, loss.svg)')
    .option('--config <file>', 'YAML/JSON with policy, processor and train sections (flags override train)')
    .option('--epochs <n>', 'epochs (default 200)')
    .option('--batch-states <n>', 'states per step (default 32)')
    .option('--noise-draws <n>', 'noise draws per state per step (default 8)')
    .option('--lr <x>', 'AdamW learning rate (default 1e-4)')
    .option('--val-fraction <x>', 'held-out share of states (default 0.1)')
    .option('--rotation <deg>', 'random rotation about z for augmentation, ± degrees (default 0; rope: 180)')
    .option('--points <n>', 'points per cloud at the encoder (default 1024)')
    .option('--max-states <n>', 'use only the first n demonstration states')
    .option('--checkpoint-every <n>', 'epochs between checkpoints (default 10)')
    .option('--seed <s>', 'seed of initialisation, split, batches and noise (default 0)')
    .option('--resume', 'continue the training checkpoint in --out')
    .option('--init <dir>', 'start from the weights, architecture and processor of a saved policy (fresh optimizer and schedule: train it longer)')
    .option('--backend <name>', 'tfjs backend: auto | node-gpu | node | wasm | cpu (env PAMSTACK_BACKEND)')
    .option('--quiet', 'no progress bar')
    .option('--json', 'print one JSON summary object last')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const backend = await initBackend({ backend: f.backend, log: f.json ? null : undefined });
        const command = ['pamstack', ...process.argv.slice(2)].join(' ');
        const file = f.config ? readConfigFile(f.config) : {};
        const demos = readDemonstrations(f.data);
        const steps = f.maxStates ? demos.steps.slice(0, f.maxStates) : demos.steps;
        const trainOverrides = Object.fromEntries(
          Object.entries({
            epochs: f.epochs,
            batchStates: f.batchStates,
            noiseDraws: f.noiseDraws,
            lr: f.lr,
            valFraction: f.valFraction,
            rotationDegrees: f.rotation,
            checkpointEvery: f.checkpointEvery,
            seed: f.seed,
          }).filter(([, v]) => v !== undefined),
        );
        let model: PrimitiveDiffusionModel;
        let processor: PolicyProcessor;
        let trainCfg: Record<string, unknown>;
        let resume: Parameters<typeof trainPolicy>[3]['resume'];
        if (f.resume && f.init) throw new CliError('--resume continues the run in --out; --init starts a new one from another policy: pass one of them');
        if (f.resume) {
          let loaded;
          try {
            loaded = loadPolicy(f.out);
          } catch (e) {
            throw new CliError(`--resume: ${(e as Error).message}`);
          }
          const t = loaded.checkpoint.training;
          if (!t) throw new CliError(`--resume: ${f.out} was saved without training state`);
          ({ model, processor } = loaded);
          trainCfg = { ...t.config, ...trainOverrides };
          for (const k of Object.keys(trainOverrides))
            if (k !== 'epochs' && JSON.stringify(trainOverrides[k]) !== JSON.stringify(t.config[k]))
              throw new CliError(`--resume: ${k} was ${JSON.stringify(t.config[k])} in the checkpoint, received ${JSON.stringify(trainOverrides[k])} (only --epochs may change)`);
          if (trainCfg.epochs !== t.config.epochs) throw new CliError('--resume: --epochs must equal the checkpoint\'s (the cosine schedule spans the whole run)');
          resume = { epoch: t.epoch, step: t.step, history: t.history, optimizer: readOptimizerState(f.out, loaded.checkpoint, model.params.names()) };
        } else if (f.init) {
          if (existsSync(`${f.out}/policy.json`)) throw new CliError(`--out: ${f.out} already holds a policy; choose another directory`);
          if (file.policy || file.processor) throw new CliError(`--init: the architecture and processor come from ${f.init}; --config may only hold a train section`);
          try {
            ({ model, processor } = loadPolicy(f.init));
          } catch (e) {
            throw new CliError(`--init: ${(e as Error).message}`);
          }
          if (!model.config.kinds.includes(demos.meta.primitive)) {
            model.dispose();
            throw new CliError(`--init: ${f.init} proposes ${JSON.stringify(model.config.kinds)}, the demonstrations are ${demos.meta.primitive}`);
          }
          trainCfg = { ...file.train, ...trainOverrides };
        } else {
          if (existsSync(`${f.out}/policy.json`)) throw new CliError(`--out: ${f.out} already holds a policy; pass --resume to continue it or choose another directory`);
          const policyCfg = parseOrThrow(PolicyConfigSchema, { kinds: [demos.meta.primitive], ...file.policy, ...(f.points ? { points: f.points } : {}) }, 'policy config');
          if (!policyCfg.kinds.includes(demos.meta.primitive))
            throw new CliError(`--config: policy.kinds ${JSON.stringify(policyCfg.kinds)} lacks the demonstrations' primitive ${demos.meta.primitive}`);
          processor = new PolicyProcessor(file.processor ?? {}, policyCfg.points);
          trainCfg = { ...file.train, ...trainOverrides };
          model = PrimitiveDiffusionModel.create(policyCfg, (trainCfg.seed as number | undefined) ?? 0);
        }
        const kind = model.kindIndex(demos.meta.primitive);
        let outside = 0;
        const states: PolicyState[] = steps.map((s, i) => {
          try {
            const obs = processor.observation(s.cloud);
            const a = processor.actionsToObject(s.actions, obs.frame);
            outside += a.outside;
            return { cloud: obs.points, actions: a.actions, kind };
          } catch (e) {
            throw new CliError(`--data: step ${i} (episode ${s.episode}, step ${s.step}): ${(e as Error).message}`);
          }
        });
        const nActions = states.reduce((a, s) => a + s.actions.length / 6, 0);
        if (!f.json)
          console.error(
            `train policy: ${states.length} states, ${nActions} acceptable actions from ${demos.meta.episodes} ${demos.meta.task} episodes; ${model.params.size()} parameters; ${outside} action coordinates clipped to ±1`,
          );
        const t0 = performance.now();
        let result;
        try {
          result = await trainPolicy(model, states, trainCfg, { processor, backend: backend.choice, outDir: f.out, command, task: demos.meta.task, resume, quiet: f.quiet || f.json });
        } catch (e) {
          if (e instanceof CheckpointError) throw new CliError(e.message, 1);
          throw e;
        } finally {
          model.dispose();
        }
        const last = result.history.at(-1)!;
        const summary = {
          out: f.out,
          task: demos.meta.task,
          states: states.length,
          actions: nActions,
          train_states: result.split.train.length,
          val_states: result.split.val.length,
          epochs: last.epoch,
          steps: last.step,
          train_loss: +last.trainLoss.toPrecision(4),
          val_loss: last.valLoss === null ? null : +last.valLoss.toPrecision(4),
          seconds: +((performance.now() - t0) / 1000).toFixed(1),
          backend: backend.choice,
        };
        if (f.json) printJson(summary);
        else {
          for (const [k, v] of Object.entries(summary)) console.log(`${k.padEnd(13)} ${v}`);
          console.log(`files         ${f.out}/policy.json, weights.bin, optimizer.bin, loss.svg`);
        }
      }),
    );
}

function readConfigFile(path: string): z.infer<typeof ConfigFileSchema> {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`--config: cannot read ${path}: ${(e as Error).message}`);
  }
  const parsed = parseOrThrow(ConfigFileSchema, raw ?? {}, `--config ${path}`);
  // Only the keys the file names: zod fills defaults even in .partial() sections, and a default here
  // would override what the command derives (the demonstrations' primitive kind, --points).
  const given = (raw ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const keep = <T extends object>(section: T | undefined, name: string): T | undefined =>
    section && given[name] ? (Object.fromEntries(Object.entries(section).filter(([k]) => k in given[name]!)) as T) : section;
  return { policy: keep(parsed.policy, 'policy'), processor: keep(parsed.processor, 'processor'), train: keep(parsed.train, 'train') };
}
