// `pamstack export onnx --policy DIR --out DIR`: a policy (and its task's reward heads) as ONNX files for ONNX Runtime.
import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PRIMITIVE_KINDS } from '../../core/primitive.ts';
import { initBackend } from '../../nn/backend.ts';
import { createOrtSession } from '../../nn/onnx-runtime.ts';
import { loadPolicy } from '../../policy/checkpoint.ts';
import { policyDenoiserGraph, policyEncoderGraph, policySamplerGraph, policyWeights } from '../../policy/onnx-graph.ts';
import { ddimTimesteps } from '../../policy/schedule.ts';
import { rewardGraph } from '../../preference/onnx-reward.ts';
import { loadRewardModel } from '../../preference/reward-io.ts';
import { CliError, action, intFlag, numFlag, parseFlags, printJson } from '../command-kit.ts';

const ExportFlagsSchema = z.strictObject({
  policy: z.string().min(1),
  out: z.string().min(1),
  steps: intFlag(1, 1000).default(10),
  eta: numFlag(0, 1).default(1),
  kind: z.enum(PRIMITIVE_KINDS).optional(),
  json: z.boolean().optional(),
});
type ExportFlags = z.infer<typeof ExportFlagsSchema>;

const DeciderFileSchema = z.looseObject({ policy: z.string().min(1), rewardDir: z.string().optional() });

/** What one exported file takes and gives (written to processor.json for Python/C++ callers). */
interface FileEntry {
  file: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  note: string;
}

/** The policy folder, the reward folders and the decider spec of `--policy` (a task folder or a policy folder). */
function resolveSources(dir: string): { policyDir: string; rewardDirs: string[]; decider: unknown } {
  if (existsSync(join(dir, 'policy.json'))) return { policyDir: dir, rewardDirs: [], decider: null };
  const specPath = join(dir, 'default.json');
  if (!existsSync(specPath)) throw new CliError(`--policy: expected a policy folder (policy.json) or a task folder (default.json), received ${dir}`);
  let decider: z.infer<typeof DeciderFileSchema>;
  try {
    decider = DeciderFileSchema.parse(JSON.parse(readFileSync(specPath, 'utf8')));
  } catch (e) {
    throw new CliError(`--policy: ${specPath} is not a decider spec (${(e as Error).message})`);
  }
  const rewardDirs = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'reward.json')))
    .map((d) => join(dir, d.name))
    .sort();
  return { policyDir: join(dir, decider.policy), rewardDirs, decider };
}

/** Writes the ONNX files and processor.json; returns the manifest. */
export async function exportOnnx(flags: Omit<ExportFlags, 'json'>): Promise<Record<string, unknown> & { files: FileEntry[] }> {
  const src = resolveSources(flags.policy);
  const { model, processor, checkpoint } = loadPolicy(src.policyDir, { trainable: false });
  const files: FileEntry[] = [];
  const written: [string, Uint8Array][] = [];
  const P = model.config.points;
  const W = model.encodingWidth;
  let reference: string | null = null;
  try {
    const kind = flags.kind ?? model.config.kinds[0]!;
    const kindIndex = model.kindIndex(kind);
    const weights = await policyWeights(model);
    written.push(['sampler.onnx', policySamplerGraph(model.config, weights, model.schedule, { steps: flags.steps, eta: flags.eta, kindIndex })]);
    files.push({
      file: 'sampler.onnx',
      inputs: { points: `float32 [1, ${P}, 3] object frame`, noise: 'float32 [N, 6] x_T ~ N(0, 1)', ...(flags.eta > 0 ? { z: `float32 [${flags.steps}, N, 6] per-step N(0, 1) noise` } : {}) },
      outputs: { actions: 'float32 [N, 6] object frame (pick xyz, place xyz)' },
      note: `encoder and the whole DDIM loop (${flags.steps} steps, eta ${flags.eta}, kind ${kind}) in one graph`,
    });
    written.push(['encoder.onnx', policyEncoderGraph(model.config, weights)]);
    files.push({ file: 'encoder.onnx', inputs: { points: `float32 [1, ${P}, 3]` }, outputs: { encoding: `float32 [1, ${W}]` }, note: 'once per observation' });
    written.push(['denoiser.onnx', policyDenoiserGraph(model.config, weights, { kindIndex })]);
    files.push({
      file: 'denoiser.onnx',
      inputs: { encoding: `float32 [1, ${W}]`, x_t: 'float32 [N, 6]', t: `int64 [N] in [0, ${model.config.diffusion.T})` },
      outputs: { eps: 'float32 [N, 6] predicted noise' },
      note: 'one denoising step (per-row timesteps): DDIM by hand, or the implicit reward with the reference denoiser',
    });
    const dpoPath = join(src.policyDir, 'dpo.json');
    if (existsSync(dpoPath)) {
      const refRel = (JSON.parse(readFileSync(dpoPath, 'utf8')) as { reference?: string }).reference;
      if (refRel) {
        const refDir = resolve(src.policyDir, refRel);
        const ref = loadPolicy(refDir, { trainable: false });
        try {
          written.push(['reference-denoiser.onnx', policyDenoiserGraph(ref.model.config, await policyWeights(ref.model), { kindIndex })]);
          written.push(['reference-encoder.onnx', policyEncoderGraph(ref.model.config, await policyWeights(ref.model))]);
        } finally {
          ref.model.dispose();
        }
        reference = refDir;
        files.push({
          file: 'reference-denoiser.onnx',
          inputs: { encoding: 'float32 [1, W] of reference-encoder.onnx', x_t: 'float32 [N, 6]', t: 'int64 [N]' },
          outputs: { eps: 'float32 [N, 6]' },
          note: 'the frozen reference of Diffusion-DPO: implicit reward = −β/2·(‖ε − ε_θ‖² − ‖ε − ε_ref‖²), shared (t, ε) draws',
        });
        files.push({ file: 'reference-encoder.onnx', inputs: { points: `float32 [1, ${P}, 3]` }, outputs: { encoding: 'float32 [1, W]' }, note: 'the reference policy’s encoder' });
      }
    }
  } finally {
    model.dispose();
  }
  const rewards: Record<string, unknown>[] = [];
  for (const dir of src.rewardDirs) {
    const { model: rm, features } = loadRewardModel(dir);
    const name = `${dir.split(/[\\/]/).pop()}.onnx`;
    try {
      written.push([name, rewardGraph(rm)]);
      rewards.push({ file: name, dir, model: rm.config.model, rowDim: rm.rowDim, features });
      files.push({
        file: name,
        inputs: { rows: `float32 [N, ${rm.rowDim}] raw candidate feature rows (src/preference/features.ts candidateFeatures)` },
        outputs: { score: 'float32 [N] reward (robust: mean)', ...(rm.config.model === 'robust' ? { std: 'float32 [N]' } : {}) },
        note: `${rm.config.model} reward${rm.config.pointEncoder ? ' with a PointNet over the row’s point block' : ''}`,
      });
    } finally {
      rm.dispose();
    }
  }
  // every graph must open in ONNX Runtime before anything is written
  for (const [name, bytes] of written) {
    try {
      await (await createOrtSession(bytes, { threads: 1 })).release();
    } catch (e) {
      throw new Error(`export onnx: ${name} does not load in ONNX Runtime: ${(e as Error).message}`);
    }
  }
  mkdirSync(flags.out, { recursive: true });
  for (const [name, bytes] of written) writeFileSync(join(flags.out, name), bytes);
  const manifest = {
    format: 'pamstack-onnx/1',
    command: `pamstack ${process.argv.slice(2).join(' ')}`,
    policy: { dir: src.policyDir, task: checkpoint.task ?? null, config: checkpoint.config, reference },
    processor: {
      ...processor.config,
      points: P,
      note: 'preprocess the table-frame cloud, FPS to `points` (cyclic repeat when fewer), subtract center (object: the points’ centre; z = 0), divide by scale; actions map back by × scale + center',
    },
    sampler: {
      steps: flags.steps,
      eta: flags.eta,
      timesteps: Array.from(ddimTimesteps(checkpoint.config.diffusion.T, flags.steps)),
      clip: checkpoint.config.diffusion.clip,
      noise: 'pamstack draws x_T then one z per step from one seeded generator (src/policy/onnx-proposer.ts samplerNoise); any N(0, 1) source works',
    },
    decider: src.decider,
    rewards,
    files,
  };
  writeFileSync(join(flags.out, 'processor.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

export function register(program: Command): void {
  const exp = program.command('export').description('export a policy for other runtimes');
  exp
    .command('onnx')
    .description('write a policy (encoder, denoiser, whole DDIM sampler) and its task’s reward heads as ONNX files with the processor config')
    .requiredOption('--policy <dir>', 'a task folder (policies/<task>, with default.json: its policy and every reward folder) or a policy folder')
    .requiredOption('--out <dir>', 'output folder: sampler.onnx, encoder.onnx, denoiser.onnx, reward-*.onnx, processor.json')
    .option('--steps <n>', 'DDIM steps of sampler.onnx', '10')
    .option('--eta <e>', 'DDIM eta of sampler.onnx (> 0 adds the per-step noise input z)', '1')
    .option('--kind <kind>', 'primitive kind (policies with several kinds; default: the first)')
    .option('--json', 'print the manifest as one JSON object')
    .action(
      action(async (opts: unknown) => {
        const flags = parseFlags(ExportFlagsSchema, opts);
        await initBackend({ log: null });
        const { json, ...rest } = flags;
        const manifest = await exportOnnx(rest);
        if (json) printJson(manifest);
        else for (const f of manifest.files) console.log(`${join(flags.out, f.file)}  ${f.note}`);
      }),
    );
}
