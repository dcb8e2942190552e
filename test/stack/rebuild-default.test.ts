import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvalResult } from '../../src/core/episode.ts';
import { readTaskDecider } from '../../src/stack/decider-spec.ts';
import {
  chooseDefault,
  evalMethods,
  FLYWHEEL_EVAL_SEED,
  pickRound,
  profileFor,
  PROVENANCE_FILE,
  REGRESSION_EPISODES,
  REGRESSION_SEED,
  VALIDATION_SEED,
  writeTaskReadme,
  type EvalRow,
} from '../../src/stack/flywheel/rebuild.ts';

const dir = mkdtempSync(join(tmpdir(), 'pam-default-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (method: string, success: number, steps: number, iou: number): EvalRow => ({
  method,
  what: '',
  command: '',
  wall: 0,
  result: { task: 'rope-circle', episodes: 12, seed: 10000, success_rate: success, mean_steps: steps, metrics: { iou } } as EvalResult,
});

describe('the committed default of a rebuild', () => {
  it('every policy row samples the profile\'s N candidates; the chosen default records N for the demo', () => {
    const P = join(dir, 'rope-circle');
    for (const m of evalMethods(P, 32).filter((x) => x.args.includes(`${P}/sl`) || x.args.includes(`${P}/dpo`)))
      expect(m.args.slice(m.args.indexOf('--candidates'), m.args.indexOf('--candidates') + 2)).toEqual(['--candidates', '32']);
    const table = [row('expert', 1, 8, 0.7), row('sl-first', 0, 20, 0.25), row('ras-bt', 2 / 12, 18, 0.53), row('ras-robust', 1 / 12, 19, 0.54)];
    const d = chooseDefault(table, P, 32);
    expect(d).toEqual({ method: 'ras-bt', policy: 'sl', select: 'ras', reward: 'bt', rewardDir: 'reward-bt', candidates: 32 });
    writeFileSync(join(dir, 'default.json'), JSON.stringify(d));
    expect(readTaskDecider(dir)).toMatchObject({ method: 'ras-bt', candidates: 32, rewardDir: join(dir, 'reward-bt') });
    writeFileSync(join(dir, 'default.json'), JSON.stringify({ ...d, candidates: 0 }));
    expect(() => readTaskDecider(dir)).toThrow(/candidates/);
  });

  it('the default is chosen on validation seeds that no table, CI run or flywheel round shares', () => {
    for (const t of ['rope-circle', 'granular-t', 'cloth-unfold'] as const)
      for (const name of ['full', 'ci'] as const) {
        const p = profileFor(t, name);
        const ranges = [
          ['table', p.evalSeed, p.evalEpisodes],
          ['validation', VALIDATION_SEED, p.validationEpisodes],
          ['CI', REGRESSION_SEED, REGRESSION_EPISODES],
          ['flywheel', FLYWHEEL_EVAL_SEED, p.flywheelEvalEpisodes],
        ] as const;
        for (const [a, a0, an] of ranges)
          for (const [b, b0, bn] of ranges)
            if (a !== b) expect(a0 + an <= b0 || b0 + bn <= a0, `${t} ${name}: ${a} and ${b} seeds overlap`).toBe(true);
      }
    expect(profileFor('rope-circle', 'full').validationEpisodes).toBe(24);
  });

  it('rope-circle trains longer, labels mixed rollouts twice and adds the point reward; the small tasks keep their one-run recipe', () => {
    expect(profileFor('rope-circle', 'full')).toMatchObject({ slLongerEpochs: 400, prefExecute: 'mixed', prefExtraStates: 800, onPolicyStates: 400, pointRewardEpochs: 40, candidates: 128 });
    for (const t of ['granular-t', 'cloth-unfold'] as const)
      expect(profileFor(t, 'full')).toMatchObject({ slLongerEpochs: 0, prefExecute: 'random', prefExtraStates: 0, onPolicyStates: 0, pointRewardEpochs: 0 });
    expect(profileFor('granular-t', 'full')).toMatchObject({ prefStates: 240, candidates: 32, evalEpisodes: 24, validationEpisodes: 24 });
    expect(profileFor('cloth-unfold', 'full')).toMatchObject({ demoEpisodes: 64, prefStates: 160, candidates: 32, evalEpisodes: 24, validationEpisodes: 12 });
  });

  it('the point reward is a row (and can be the default) only where the folder has one', () => {
    const P = join(dir, 'rope-circle');
    expect(evalMethods(P, 128).map((m) => m.name)).not.toContain('ras-points');
    const withPoints = evalMethods(P, 128, { points: true }).find((m) => m.name === 'ras-points')!;
    expect(withPoints.args).toEqual(['--policy', `${P}/sl`, '--select', 'ras', '--reward', 'robust', '--reward-dir', `${P}/reward-points`, '--lcb', '1', '--candidates', '128']);
    const table = [row('sl-first', 0, 20, 0.27), row('ras-robust', 1 / 12, 19, 0.5), row('ras-points', 3 / 12, 18, 0.55)];
    expect(chooseDefault(table, P, 128, { points: true })).toEqual({
      method: 'ras-points', policy: 'sl', select: 'ras', reward: 'robust', rewardDir: 'reward-points', lcb: 1, candidates: 128,
    });
  });

  it('the README reports the table, the validation rows that chose the default, and keeps a hand-written provenance', () => {
    const P = join(dir, 'readme', 'cloth-unfold');
    mkdirSync(P, { recursive: true });
    const profile = profileFor('cloth-unfold', 'full', { evalEpisodes: 4, validationEpisodes: 8 });
    const table = [row('expert', 1, 8, 0.45), row('sl-first', 0.5, 13, 0.39), row('ras-robust', 0.25, 13, 0.41)];
    const validation = [row('sl-first', 0.25, 14, 0.37), row('ras-robust', 0.5, 13, 0.38)];
    const def = chooseDefault(validation, P, profile.candidates);
    const readme = () => {
      writeTaskReadme('cloth-unfold', profile, P, [], { table, validation }, 600, 0, def);
      return readFileSync(join(P, 'README.md'), 'utf8');
    };
    const first = readme();
    // Chosen on validation although SL-first leads the table: the table's seeds only report it.
    expect(def.method).toBe('ras-robust');
    expect(first).toContain('runs **ras-robust**: the best learned row on 8 validation episodes');
    expect(first).toMatch(/## Evaluation \(4 episodes, seeds 10000…10003, never used in training, choice or CI\)[^#]*\| ras-robust \(default\) \|/);
    expect(first).toMatch(/## Choice of the default \(8 episodes, validation seeds 30000…30007\)[^#]*\| sl-first \| [^|]* \| 25 % \|/);
    expect(first.match(/\(default\)/g)).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(P, 'eval.json'), 'utf8'))).toMatchObject({ task: 'cloth-unfold', validation: [{ method: 'sl-first' }, { method: 'ras-robust' }] });
    writeFileSync(join(P, PROVENANCE_FILE), 'Made in two stages by hand.\n\n');
    const lines = readme().split('\n');
    expect(lines[2]).toMatch(/^Made by `npm run policies:rebuild -- --task cloth-unfold` in 10.0 min/);
    expect(lines[3]).toBe('Made in two stages by hand.');
    expect(lines[4]).toMatch(/^The demo/);
  });

  it('flywheel rounds: off in the full profile unless asked, refused where no point reward is trained, the best validation round kept', () => {
    expect(profileFor('rope-circle', 'full').flywheelRounds).toBe(0);
    expect(profileFor('rope-circle', 'full', { flywheelRounds: 2 })).toMatchObject({ flywheelRounds: 2, flywheelStates: 400, pointRewardEpochs: 40 });
    expect(profileFor('rope-circle', 'ci').flywheelRounds).toBe(1);
    expect(() => profileFor('cloth-unfold', 'full', { flywheelRounds: 1 })).toThrow(/--flywheel-rounds: expected 0 for cloth-unfold .*point reward.*received 1/);
    const r = (round: number, success_rate: number, metric: number) => ({ round, states: 400 * (round + 1), rewardDir: `r${round}`, success_rate, mean_steps: 10, metric, wall: 1 });
    expect(pickRound([r(0, 0.25, 0.6), r(1, 0.5, 0.55), r(2, 0.5, 0.58)]).round).toBe(2);
    expect(pickRound([r(0, 0.5, 0.6), r(1, 0.5, 0.6)]).round).toBe(1);
    expect(pickRound([r(0, 0.5, 0.61), r(1, 0.25, 0.7)]).round).toBe(0);
    expect(() => pickRound([])).toThrow(/no rounds/);
  });
});
