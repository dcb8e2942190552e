// `pamstack transfer`: PEARL-style cross-task preference transfer (GW coupling of segments or of candidate
// actions → labels → robust reward); `pamstack transfer-collect` records labelled segments of a task in sim.
import type { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { deriveSeed, FieldError, Rng, TaskNameSchema, parseOrThrow, type TaskName } from '../../core/index.ts';
import type { PairData } from '../../preference/reward-model.ts';
import { initBackend } from '../../nn/backend.ts';
import { saveRewardModel } from '../../preference/reward-io.ts';
import { evaluatePairs, trainRewardModel } from '../../preference/reward-train.ts';
import { DEFAULT_REWARD_FEATURES } from '../../preference/features.ts';
import { partialReturnTeacher } from '../../preference/teachers.ts';
import {
  type IndexedPreference,
  type StateSequence,
  allPairs,
  crossSegmentDistances,
  dtwSegmentDistances,
  entropicGromovWasserstein,
  entropicGwMode,
  euclideanSegmentDistances,
  STATE_FEATURES,
  stateFeatures,
  teacherScore,
  transferPreferences,
} from '../../transfer/index.ts';
import { action, CliError, intFlag, numFlag, parseFlags, printJson } from '../command-kit.ts';
import { runCandidateTransfer, SHARED_PRESETS } from '../transfer-candidates.ts';

/** What a segments directory holds: `segments.json` and, when labelled, `labels.json`. */
const SegmentsFileSchema = z.strictObject({
  task: z.string(),
  features: z.array(z.string()),
  segments: z.array(
    z.strictObject({ id: z.string(), states: z.array(z.array(z.number().finite())).min(1), rewards: z.array(z.number().finite()).optional() }),
  ),
});
const LabelsFileSchema = z.strictObject({
  teacher: z.string().optional(),
  pairs: z.array(z.strictObject({ first: z.number().int().min(0), second: z.number().int().min(0), y: z.number().min(0).max(1) })),
});
type SegmentsFile = z.infer<typeof SegmentsFileSchema>;

/** Episodes mixing expert and random actions (expert share from 0 to 1 across episodes), cut into windows. */
async function collectSegments(task: TaskName, o: { episodes: number; steps: number; window: number; seed: number }): Promise<SegmentsFile> {
  const [{ createWorld }, { deciderSpecFor }, { loadDecider, mixtureDecider }, { rollout }] = await Promise.all([
    import('../../../sim/index.ts'),
    import('../decider-spec.ts'),
    import('../decider.ts'),
    import('../rollout.ts'),
  ]);
  const world = await createWorld(task);
  const expert = await loadDecider(deciderSpecFor('expert', { select: 'first' }));
  const random = await loadDecider(deciderSpecFor('random', { select: 'first' }));
  const segments: SegmentsFile['segments'] = [];
  try {
    for (let e = 0; e < o.episodes; e++) {
      const share = o.episodes === 1 ? 0.5 : e / (o.episodes - 1);
      const states: number[][] = [];
      const scores: number[] = [];
      const record = () => {
        const m = world.metrics();
        states.push(stateFeatures(m, world.observe({ seed: deriveSeed(e, states.length) })));
        scores.push(teacherScore(task, m));
      };
      // the same expert and random deciders for every episode; only the expert's share changes
      const mix = { ...mixtureDecider(expert, random, share), dispose() {} };
      await rollout(world, mix, {
        episodes: 1,
        seed: deriveSeed(o.seed, e),
        maxSteps: o.steps,
        pastSuccess: true,
        quiet: true,
        hooks: {
          beforeDecide: (s) => {
            if (s.step === 1) record();
            return null;
          },
          onStep: (s) => {
            if (s.primitive) record();
          },
        },
      });
      for (let s = 0; s + o.window < states.length; s++)
        segments.push({
          id: `e${e}-s${s}`,
          states: states.slice(s, s + o.window + 1),
          rewards: scores.slice(s + 1, s + o.window + 1).map((x, k) => x - scores[s + k]!),
        });
      process.stderr.write(`  ${task}: episode ${e + 1}/${o.episodes}, expert share ${share.toFixed(2)}, score ${scores[0]!.toFixed(3)} → ${scores[scores.length - 1]!.toFixed(3)}\n`);
    }
  } finally {
    world.dispose();
    expert.dispose();
    random.dispose();
  }
  return { task, features: [...STATE_FEATURES], segments };
}

/** Labels every segment pair with B-Pref's oracle teacher on the per-step rewards (Δ goal score: IoU, cloth coverage). */
function teacherLabels(file: SegmentsFile, seed: number): z.infer<typeof LabelsFileSchema> {
  const teacher = partialReturnTeacher({}, 'oracle');
  const rng = new Rng(seed);
  const pairs: z.infer<typeof LabelsFileSchema>['pairs'] = [];
  for (const [j, l] of allPairs(file.segments.length)) {
    const a = file.segments[j]!.rewards, b = file.segments[l]!.rewards;
    if (!a || !b) throw new FieldError(`segments[${a ? l : j}].rewards`, 'per-step rewards (needed by the scripted teacher)', undefined);
    const lab = teacher.label(a, b, rng);
    if (lab === 'skip') continue;
    pairs.push({ first: j, second: l, y: lab === 'left' ? 1 : lab === 'right' ? 0 : 0.5 });
  }
  return { teacher: teacher.name, pairs };
}

function readJson<S extends z.ZodType>(path: string, schema: S): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FieldError(path, 'a readable JSON file', (e as Error).message);
  }
  return parseOrThrow(schema, raw, path);
}

function sequences(file: SegmentsFile): StateSequence[] {
  return file.segments.map((s) => ({ states: Float64Array.from(s.states.flat()), steps: s.states.length, dim: s.states[0]!.length }));
}

const TransferFlagsSchema = z.strictObject({
  items: z.enum(['segments', 'candidates']).default('segments'),
  source: z.string().min(1),
  target: z.string().min(1),
  out: z.string().min(1),
  epsilon: numFlag(1e-6, 10).default(0.01),
  distance: z.enum(['euclidean', 'dtw']).default('euclidean'),
  alpha: numFlag(0, 1).default(0.5),
  shared: z.string().regex(/^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$/).optional(),
  reward: z.enum(['robust', 'none']).default('robust'),
  epochs: intFlag(1, 100000).optional(),
  hidden: z.string().regex(/^(\d+(,\d+)*)?$/, { message: 'expected comma-separated widths, e.g. 64,64 (empty for linear)' }).optional(),
  ties: z.boolean().default(false),
  seed: intFlag(0).default(0),
  exact: z.boolean().default(false),
  json: z.boolean().optional(),
});

const CollectFlagsSchema = z.strictObject({
  task: TaskNameSchema,
  episodes: intFlag(1, 1000).default(8),
  steps: intFlag(1, 100).default(6),
  window: intFlag(1, 50).default(3),
  seed: intFlag(0).default(0),
  out: z.string().min(1),
  json: z.boolean().optional(),
});

/** Agreement of transferred labels with a teacher's strict labels (ties left out). */
function agreement(pred: (j: number, l: number) => number, truth: IndexedPreference[]): { pairs: number; agreement: number } {
  const strict = truth.filter((t) => t.y !== 0.5);
  const ok = strict.filter((t) => pred(t.first, t.second) > 0.5 === t.y > 0.5).length;
  return { pairs: strict.length, agreement: strict.length ? ok / strict.length : NaN };
}

export function register(program: Command): void {
  program
    .command('transfer-collect')
    .description('record segments of TASK in sim (expert/random mix) and label every pair with the scripted oracle teacher (gain in IoU; cloth: in coverage)')
    .requiredOption('--task <task>', 'rope-<shape>, granular-t or cloth-unfold')
    .requiredOption('--out <dir>', 'writes segments.json and labels.json')
    .option('--episodes <n>', 'episodes (expert share rises from 0 to 1 across them)', '8')
    .option('--steps <n>', 'primitives per episode', '6')
    .option('--window <n>', 'primitives per segment', '3')
    .option('--seed <s>', 'seed', '0')
    .option('--exact', 'GW by POT 0.8.2\'s exact iterates instead of the fast solver (same fixed point, slower)')
    .option('--json', 'print a summary object')
    .action(
      action(async (opts: unknown) => {
        const f = parseFlags(CollectFlagsSchema, opts);
        const file = await collectSegments(f.task, f);
        const labels = teacherLabels(file, f.seed);
        mkdirSync(f.out, { recursive: true });
        writeFileSync(join(f.out, 'segments.json'), JSON.stringify(file));
        writeFileSync(join(f.out, 'labels.json'), JSON.stringify(labels));
        const summary = { task: f.task, segments: file.segments.length, labelled_pairs: labels.pairs.length, out: f.out };
        if (f.json) printJson(summary);
        else console.log(`${summary.segments} segments, ${summary.labelled_pairs} labelled pairs → ${f.out}`);
      }),
    );

  program
    .command('transfer')
    .description('label a target task’s segment (or candidate) pairs from a labelled source task through a GW coupling, then train the robust reward')
    .requiredOption('--source <dir>', 'segments.json + labels.json of the labelled task (candidates: states.jsonl + rankings.jsonl)')
    .requiredOption('--target <dir>', 'segments.json of the new task (candidates: states.jsonl); its labels.json / rankings.jsonl, if present, only score agreement')
    .requiredOption('--out <dir>', 'writes labels.json, report.json and reward.json')
    .option('--epsilon <e>', 'entropic GW regulariser (distances are scaled to max 1)', '0.01')
    .option('--distance <d>', 'segment distance: euclidean (resampled) | dtw', 'euclidean')
    .option('--alpha <a>', 'structure weight of fused GW (cross-task cost: the --shared features); 1 = plain GW (PEARL CPA)', '0.5')
    .option('--items <kind>', 'what is coupled: segments (segments.json dirs) | candidates (candidate datasets of pamstack label: state-action pairs, the reward RAS ranks by)', 'segments')
    .option('--shared <names>', `features both tasks share (fused GW only); segments: state features (default iou,chamfer,emd); candidates: a preset (${Object.keys(SHARED_PRESETS).join(', ')}; default object) or candidate feature columns`)
    .option('--reward <r>', 'train the robust reward on the transferred labels: robust | none', 'robust')
    .option('--epochs <n>', 'reward training epochs (default 150 segments, 200 candidates)')
    .option('--hidden <widths>', 'hidden widths of the reward net (default 32 segments, 64,64 candidates as pamstack train reward)')
    .option('--ties', 'candidates: also transfer the source teacher\'s ties (y = 0.5)')
    .option('--seed <s>', 'seed', '0')
    .option('--json', 'print the report as one JSON object')
    .action(
      action(async (opts: unknown) => {
        const f = parseFlags(TransferFlagsSchema, opts);
        if (f.reward === 'robust') await initBackend({ log: f.json ? null : undefined });
        const hidden = f.hidden === undefined ? undefined : f.hidden ? f.hidden.split(',').map(Number) : [];
        if (f.items === 'candidates') {
          if (f.distance !== 'euclidean') throw new CliError('--distance: segments only (candidate items are single feature rows)');
          // the fast solver's f32 products on ONNX Runtime where it loads
          const productKernel = f.exact ? null : await (await import('../../nn/onnx-matmul.ts')).loadOrtMatmul();
          let run;
          try {
            run = runCandidateTransfer({
              source: f.source,
              target: f.target,
              features: DEFAULT_REWARD_FEATURES,
              epsilon: f.epsilon,
              exact: f.exact,
              alpha: f.alpha,
              shared: f.shared ?? 'object',
              ties: f.ties,
              reward: f.reward === 'robust' ? { epochs: f.epochs ?? 200, hidden: hidden ?? [64, 64], seed: f.seed, valFraction: 0.2 } : null,
              ...(productKernel ? { productKernel } : {}),
            });
          } finally {
            productKernel?.dispose();
          }
          mkdirSync(f.out, { recursive: true });
          writeFileSync(join(f.out, 'labels.json'), JSON.stringify({ teacher: `transferred:${String((run.report.source as { task: string }).task)}`, pairs: run.labels }));
          if (run.model) {
            saveRewardModel(f.out, run.model, { command: `pamstack ${process.argv.slice(2).join(' ')}`, features: DEFAULT_REWARD_FEATURES, report: run.fit! });
            run.model.dispose();
          }
          writeFileSync(join(f.out, 'report.json'), JSON.stringify(run.report, null, 2));
          if (f.json) printJson(run.report);
          else console.log(JSON.stringify(run.report, null, 2));
          return;
        }
        if (f.ties) throw new CliError('--ties: candidates only (segment labels carry their ties)');
        const sharedNames = f.shared ?? 'iou,chamfer,emd';
        const src = readJson(join(f.source, 'segments.json'), SegmentsFileSchema);
        const srcLabels = readJson(join(f.source, 'labels.json'), LabelsFileSchema);
        const tgt = readJson(join(f.target, 'segments.json'), SegmentsFileSchema);
        let tgtTruth: IndexedPreference[] | null = null;
        try {
          tgtTruth = readJson(join(f.target, 'labels.json'), LabelsFileSchema).pairs;
        } catch {
          tgtTruth = null;
        }
        const S = sequences(src), Tg = sequences(tgt);
        const dist = f.distance === 'dtw' ? dtwSegmentDistances : euclideanSegmentDistances;
        const C1 = dist(S), C2 = dist(Tg);
        const M = S.length, N = Tg.length;
        let featureCost: Float64Array | undefined;
        if (f.alpha < 1) {
          const names = sharedNames.split(',');
          const col = (file: SegmentsFile, which: string) =>
            names.map((nm) => {
              const k = file.features.indexOf(nm);
              if (k < 0) throw new FieldError('--shared', `features of the ${which} task (${file.features.join(', ')})`, nm);
              return k;
            });
          featureCost = crossSegmentDistances(S, Tg, col(src, 'source'), col(tgt, 'target'));
        }
        // the fast solver's f32 products on ONNX Runtime where it loads
        const productKernel = f.exact ? null : await (await import('../../nn/onnx-matmul.ts')).loadOrtMatmul();
        let gw;
        try {
          gw = entropicGromovWasserstein(
            { C1, C2, p: new Float64Array(M).fill(1 / M), q: new Float64Array(N).fill(1 / N) },
            { ...entropicGwMode(f.exact), epsilon: f.epsilon, ...(productKernel ? { productKernel } : {}), ...(featureCost ? { featureCost, alpha: f.alpha } : {}) },
          );
        } finally {
          productKernel?.dispose();
        }
        const labels = transferPreferences(gw.T, M, N, srcLabels.pairs, allPairs(N));
        const byPair = new Map(labels.map((l) => [`${l.first},${l.second}`, l]));
        const get = (j: number, l: number) => (j < l ? byPair.get(`${j},${l}`)!.y : 1 - byPair.get(`${l},${j}`)!.y);
        const getUn = (j: number, l: number) => (j < l ? byPair.get(`${j},${l}`)!.unnormalized : NaN);
        const report: Record<string, unknown> = {
          source: { task: src.task, segments: M, labelled_pairs: srcLabels.pairs.length },
          target: { task: tgt.task, segments: N, labels_used: 0 },
          coupling: { epsilon: f.epsilon, distance: f.distance, alpha: f.alpha, shared: f.alpha < 1 ? sharedNames : null, gw: gw.gw, fgw: gw.fgw ?? null, iterations: gw.iterations, marginal_error: gw.marginalError },
          labels: {
            form: 'normalised (pearl-gw.md §2)',
            mean_confidence: labels.reduce((s, l) => s + l.confidence, 0) / labels.length,
            mean_unnormalized: labels.reduce((s, l) => s + l.unnormalized, 0) / labels.length,
          },
        };
        if (tgtTruth) {
          const confident = labels.filter((l) => l.confidence >= 0.5);
          const confSet = new Set(confident.map((l) => `${l.first},${l.second}`));
          report.agreement = {
            normalized: agreement(get, tgtTruth),
            normalized_confident: agreement(get, tgtTruth.filter((t) => confSet.has(`${t.first},${t.second}`))),
            // PEARL's unnormalised form used as a label (≈ 1/N² scale): read as P(first ≻ second) > 0.5
            unnormalized: agreement(getUn, tgtTruth),
            confident_share: confident.length / labels.length,
          };
        }
        mkdirSync(f.out, { recursive: true });
        writeFileSync(join(f.out, 'labels.json'), JSON.stringify({ teacher: `transferred:${src.task}`, pairs: labels }));
        if (f.reward === 'robust') {
          const d = tgt.segments[0]!.states[0]!.length;
          const steps = Math.min(...tgt.segments.map((s) => s.states.length));
          const pack = (pairs: { first: number; second: number; y: number }[]): PairData => {
            const left = new Float32Array(pairs.length * steps * d), right = new Float32Array(pairs.length * steps * d);
            pairs.forEach((p, k) => {
              left.set(tgt.segments[p.first]!.states.slice(0, steps).flat(), k * steps * d);
              right.set(tgt.segments[p.second]!.states.slice(0, steps).flat(), k * steps * d);
            });
            return { rowDim: d, steps, left, right, y: Float32Array.from(pairs.map((p) => p.y)) };
          };
          const { model, report: fit } = trainRewardModel(pack(labels), { model: 'robust', epochs: f.epochs ?? 150, seed: f.seed, hidden: hidden ?? [32] });
          saveRewardModel(f.out, model, { command: `pamstack transfer --source ${f.source} --target ${f.target}`, features: null, report: fit });
          report.reward = { model: 'robust', train: fit.train, val: fit.val };
          if (tgtTruth) {
            const truth = pack(tgtTruth);
            report.reward_vs_target_teacher = evaluatePairs(model, truth, tgtTruth.map((_, i) => i));
          }
        }
        writeFileSync(join(f.out, 'report.json'), JSON.stringify(report, null, 2));
        if (f.json) printJson(report);
        else console.log(JSON.stringify(report, null, 2));
      }),
    );
}
