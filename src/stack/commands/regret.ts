// `pamstack regret collect|fit`: regret vs partial return on the sim's states (Knox et al.), and the
// optimal advantage Â*(s, a) as a reward folder that RAS loads.
import type { Command } from 'commander';
import { z } from 'zod';
import { TaskNameSchema } from '../../core/task.ts';
import { startProgress } from '../../core/progress.ts';
import { action, CliError, flagDefault, intFlag, numFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';

const CollectFlags = z.strictObject({
  task: TaskNameSchema.default('rope-circle'),
  policy: z.string().min(1).default('policies/rope-circle'),
  states: intFlag(1, 100000).default(100),
  candidates: intFlag(2, 64).default(4),
  horizon: intFlag(1, 50).default(3),
  seed: intFlag(0, 2 ** 31).default(2100),
  out: z.string().min(1),
  json: z.boolean().default(false),
});

const FitFlags = z.strictObject({
  data: z.string().min(1),
  pairs: intFlag(10, 10_000_000).default(4000),
  epochs: intFlag(1, 100000).default(60),
  sameState: numFlag(0, 1).default(0.5),
  save: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  const regret = parentCommand(program, 'regret', 'regret vs partial-return preference models on sim states (V* from the scripted expert), and the optimal advantage as a scorer');
  regret
    .command('collect')
    .description('roll out a decider; at each state try every candidate from the saved state and estimate V̂*(s), V̂*(s\') by the expert\'s rollouts; writes transitions.jsonl')
    .requiredOption('--out <dir>', 'where transitions.jsonl goes')
    .option('--task <task>', 'the task', flagDefault(CollectFlags, 'task'))
    .option('--policy <policy>', 'who proposes the candidates: a task folder or a policy checkpoint', flagDefault(CollectFlags, 'policy'))
    .option('--states <n>', 'states to try', flagDefault(CollectFlags, 'states'))
    .option('--candidates <n>', 'candidates tried per state', flagDefault(CollectFlags, 'candidates'))
    .option('--horizon <n>', 'expert steps per value rollout', flagDefault(CollectFlags, 'horizon'))
    .option('--seed <n>', 'episode i resets with seed + i', flagDefault(CollectFlags, 'seed'))
    .option('--json', 'print one JSON summary object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(CollectFlags, raw);
        const [{ createWorld }, { deciderSpecFor }, { loadCommandDecider }, { collectTransitions }, { writeTransitions }] = await Promise.all([
          import('../../../sim/index.ts'),
          import('../decider-spec.ts'),
          import('../decider-flags.ts'),
          import('../collect-transitions.ts'),
          import('../../preference/sim-regret.ts'),
        ]);
        // The decider proposes; which candidate runs on is the collector's choice (collect-transitions.ts).
        const spec = deciderSpecFor(f.policy, { candidates: f.candidates, select: 'first' }, '--policy');
        if (spec.policy === 'expert' || spec.policy === 'random') throw new CliError(`--policy: expected a task folder or a policy checkpoint (its candidates are what the teachers compare), received ${f.policy}`);
        const world = await createWorld(f.task);
        const decider = await loadCommandDecider(world, spec);
        const bar = startProgress('regret collect', f.states, { quiet: f.json });
        const t0 = performance.now();
        try {
          const ts = await collectTransitions(world, decider, { states: f.states, seed: f.seed, value: { horizon: f.horizon }, onState: (tried) => bar.tick(1, { transitions: tried.length }) });
          const path = writeTransitions(f.out, ts);
          const wall = (performance.now() - t0) / 1000;
          const states = new Set(ts.map((t) => t.state)).size;
          const summary = { task: f.task, states, transitions: ts.length, wall_s: +wall.toFixed(1), s_per_state: +(wall / Math.max(1, states)).toFixed(2), out: path };
          bar.stop();
          if (f.json) printJson(summary);
          else console.log(`${ts.length} transitions from ${states} states in ${wall.toFixed(0)} s → ${path}`);
        } finally {
          bar.stop();
          world.dispose();
          decider.dispose();
        }
      }),
    );
  regret
    .command('fit')
    .description('label transition pairs with a regret and a partial-return teacher, fit both preference models to each, held-out log-likelihood; --save keeps Â* as a reward folder')
    .requiredOption('--data <dir>', 'a folder written by `pamstack regret collect`')
    .option('--pairs <n>', 'segment pairs per teacher', flagDefault(FitFlags, 'pairs'))
    .option('--epochs <n>', 'epochs of each fit', flagDefault(FitFlags, 'epochs'))
    .option('--same-state <p>', 'share of pairs whose two segments start at one state', flagDefault(FitFlags, 'sameState'))
    .option('--save <dir>', 'write the partial-return model fitted to regret labels (it learns Â*(s, a)) as a reward folder for --reward bt --reward-dir')
    .option('--json', 'print one JSON summary object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(FitFlags, raw);
        const [{ initBackend }, { readTransitions, transitionAdvantage, compareRegretModels }, { DEFAULT_REWARD_FEATURES }, { saveRewardModel }] = await Promise.all([
          import('../../nn/backend.ts'),
          import('../../preference/sim-regret.ts'),
          import('../../preference/features.ts'),
          import('../../preference/reward-io.ts'),
        ]);
        await initBackend({ log: f.json ? null : undefined });
        let ts;
        try {
          ts = readTransitions(f.data);
        } catch (e) {
          throw new CliError(`--data: ${(e as Error).message} (write it with \`pamstack regret collect --out ${f.data}\`)`);
        }
        if (ts.length < 2) throw new CliError(`--data: expected at least 2 transitions in ${f.data}, received ${ts.length}`);
        const t0 = performance.now();
        const bar = startProgress('regret fit', 4, { quiet: f.json });
        let fitted;
        try {
          fitted = compareRegretModels(ts, {
            pairs: f.pairs, epochs: f.epochs, sameState: f.sameState, features: DEFAULT_REWARD_FEATURES,
            onFit: (r) => bar.tick(1, { fit: `${r.labels}/${r.model}` }),
          });
        } catch (e) {
          throw new CliError(`--data: ${(e as Error).message}`);
        } finally {
          bar.stop();
        }
        const { rows, advantage } = fitted;
        try {
          if (f.save) {
            const command = `pamstack regret fit --data ${f.data} --pairs ${f.pairs} --epochs ${f.epochs} --same-state ${f.sameState} --save ${f.save}`;
            saveRewardModel(f.save, advantage.model, { command, features: DEFAULT_REWARD_FEATURES, report: advantage.report, target: 'advantage' });
          }
        } finally {
          advantage.model.dispose();
        }
        const adv = ts.map(transitionAdvantage);
        const rew = ts.map((t) => t.reward);
        const summary = {
          transitions: ts.length,
          states: new Set(ts.map((t) => t.state)).size,
          corr_reward_advantage: +pearson(rew, adv).toFixed(3),
          mean_regret: +(-adv.reduce((s, v) => s + v, 0) / adv.length).toFixed(4),
          results: rows.map((r) => ({ ...r, valLogLikelihood: +r.valLogLikelihood.toFixed(4), valAccuracy: +r.valAccuracy.toFixed(3), trainLogLikelihood: +r.trainLogLikelihood.toFixed(4), wall_s: +r.wall_s.toFixed(1) })),
          saved_advantage: f.save ?? null,
          wall_s: +((performance.now() - t0) / 1000).toFixed(1),
        };
        if (f.json) printJson(summary);
        else {
          console.table(summary.results.map((r) => ({ labels: r.labels, model: r.model, 'held-out log-lik': r.valLogLikelihood, 'held-out acc': r.valAccuracy, 'train log-lik': r.trainLogLikelihood })));
          console.log(`${summary.transitions} transitions, ${summary.states} states; corr(r, Â*) ${summary.corr_reward_advantage}; mean regret ${summary.mean_regret}${f.save ? `; Â* saved to ${f.save}` : ''}`);
        }
      }),
    );
}

function pearson(x: number[], y: number[]): number {
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((v, i) => {
    sxy += (v - mx) * (y[i]! - my);
    sxx += (v - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}
