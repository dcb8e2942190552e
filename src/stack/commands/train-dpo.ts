// `pamstack train dpo`: Diffusion-DPO fine-tune of a supervised policy on ranked candidates.
import type { Command } from 'commander';
import { writeDpoFile } from '../../preference/dpo-file.ts';
import { resolve, relative } from 'node:path';
import { z } from 'zod';
import { initBackend } from '../../nn/backend.ts';
import { loadPolicy, savePolicy } from '../../policy/checkpoint.ts';
import { readDatasets, readRankings, readStates } from '../../preference/dataset.ts';
import { dpoStatesFrom } from '../../preference/dpo-data.ts';
import { DPO_LOSSES, DpoTrainer, type DpoStepStats } from '../../preference/dpo.ts';
import { startProgress } from '../../core/progress.ts';
import { action, CliError, intFlag, numFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';


const Flags = z.strictObject({
  policy: z.string().min(1),
  data: z.string().min(1),
  rankings: z.string().optional(),
  out: z.string().min(1),
  loss: z.enum(DPO_LOSSES).default('logsigmoid'),
  beta: numFlag(1e-6).default(100),
  lr: numFlag(1e-9, 1).default(1e-5),
  epochs: intFlag(1, 100000).default(50),
  batchStates: intFlag(1, 1024).default(8),
  pairsPerState: intFlag(1, 256).default(8),
  shareNoise: z.boolean().default(false),
  tFraction: numFlag(1e-6, 1).default(1),
  seed: intFlag(0).default(0),
  backend: z.string().optional(),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  parentCommand(program, 'train', 'train a policy, a DPO fine-tune or a reward model')
    .command('dpo')
    .description('Diffusion-DPO fine-tune of a supervised policy against its frozen copy, on ranked candidates')
    .requiredOption('--policy <dir>', 'supervised policy checkpoint (also the frozen reference)')
    .requiredOption('--data <dirs>', 'dataset folder with states.jsonl and rankings.jsonl, or several joined by commas (e.g. labelling runs)')
    .option('--rankings <file>', 'rankings file (default <data>/rankings.jsonl; only with one --data folder)')
    .requiredOption('--out <dir>', 'where the fine-tuned policy goes (policy.json, weights.bin, dpo.json)')
    .option('--loss <form>', 'logsigmoid (Diffusion-DPO, −log σ) | sigmoid (DeformPAM, −σ) | plackett-luce (all ranked candidates of a state at once, one shared noise draw per state)', 'logsigmoid')
    .option('--beta <x>', 'β of the DPO loss', '100')
    .option('--lr <x>', 'AdamW learning rate', '1e-5')
    .option('--epochs <n>', 'epochs over the ranked states', '50')
    .option('--batch-states <n>', 'states per step', '8')
    .option('--pairs-per-state <n>', 'pairs drawn per state per step', '8')
    .option('--t-fraction <f>', 'draw t from the lowest fraction f of the schedule (0.1: the implicit reward\'s range); 1: all t', '1')
    .option('--share-noise', 'winner and loser share ε (Diffusion-DPO code); default independent ε (DeformPAM)')
    .option('--seed <n>', 'seed of batches and noise', '0')
    .option('--backend <name>', 'tfjs backend: auto | node-gpu | node | wasm | cpu')
    .option('--json', 'print one JSON summary object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const backend = await initBackend({ backend: f.backend, log: f.json ? null : undefined });
        const { model: policy, processor, checkpoint } = loadPolicy(f.policy, { trainable: true });
        const reference = policy.clone({ trainable: false });
        try {
          const dirs = f.data.split(',').filter((d) => d.length > 0);
          if (dirs.length > 1 && f.rankings) throw new CliError('--rankings: only with a single --data folder (each folder uses its own rankings.jsonl)');
          let states, rankings;
          try {
            ({ states, rankings } = f.rankings ? { states: readStates(f.data), rankings: readRankings(f.rankings) } : readDatasets(dirs));
          } catch (e) {
            throw new CliError(`--data: ${(e as Error).message}`);
          }
          const dpoStates = dpoStatesFrom(states, rankings, processor);
          if (dpoStates.length === 0) throw new CliError(`${f.data}: the rankings hold no strict preference pairs`);
          const cfg = {
            loss: f.loss,
            beta: f.beta,
            lr: f.lr,
            epochs: f.epochs,
            batchStates: f.batchStates,
            pairsPerState: f.pairsPerState,
            shareNoise: f.shareNoise,
            tFraction: f.tFraction,
            seed: f.seed,
          };
          const trainer = new DpoTrainer(policy, reference, cfg);
          const bar = startProgress('dpo', f.epochs, { quiet: f.json });
          const history: (DpoStepStats & { epoch: number })[] = [];
          trainer.train(dpoStates, (epoch, s) => {
            history.push({ epoch, ...s });
            bar.tick(1, { loss: s.loss, acc: s.implicitAccuracy });
          });
          bar.stop();
          trainer.dispose();
          const command = ['pamstack', ...process.argv.slice(2)].join(' ');
          await savePolicy(f.out, policy, { processor, command, backend: backend.choice, task: checkpoint.task });
          // Relative to the DPO folder, so a committed or copied pair of folders keeps working.
          const meta = { reference: relative(resolve(f.out), resolve(f.policy)), config: cfg, states: dpoStates.length, pairs: dpoStates.reduce((a, s) => a + s.pairs.length, 0), history };
          writeDpoFile(f.out, meta);
          const last = history[history.length - 1]!;
          const summary = { out: f.out, reference: meta.reference, states: meta.states, pairs: meta.pairs, loss: last.loss, implicit_accuracy: last.implicitAccuracy, first_loss: history[0]!.loss };
          if (f.json) printJson(summary);
          else console.log(`dpo: ${meta.states} states, ${meta.pairs} pairs; loss ${history[0]!.loss.toFixed(4)} → ${last.loss.toFixed(4)}, implicit accuracy ${last.implicitAccuracy.toFixed(3)} → ${f.out}`);
        } finally {
          policy.dispose();
          reference.dispose();
        }
      }),
    );
}
