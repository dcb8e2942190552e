// `pamstack regret collect|fit` on a tiny budget through the real sim, policy and preference models.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRewardMeta } from '../../src/preference/reward-io.ts';
import { readTransitions, transitionAdvantage } from '../../src/preference/sim-regret.ts';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'pam-regret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pamstack regret', () => {
  it('collects transitions with V̂* from the committed policy, fits both models to both teachers and saves Â*', async () => {
    const data = join(dir, 'data');
    const c = await runCli(['regret', 'collect', '--states', '6', '--candidates', '2', '--horizon', '1', '--out', data, '--json']);
    expect(c.err).not.toMatch(/Error/);
    expect(c.code).toBe(0);
    const collected = JSON.parse(c.out.trim().split('\n').pop()!) as { states: number; transitions: number };
    expect(collected.states).toBe(6);
    const ts = readTransitions(data);
    expect(ts.length).toBe(collected.transitions);
    expect(ts.length).toBeGreaterThanOrEqual(6);
    // V̂*(s) is one value per state, at least every tried candidate's r + V̂(s'): no negative regret
    for (const t of ts) expect(transitionAdvantage(t)).toBeLessThanOrEqual(1e-12);
    for (const s of new Set(ts.map((t) => t.state))) expect(new Set(ts.filter((t) => t.state === s).map((t) => t.vStart)).size).toBe(1);
    expect(readFileSync(join(data, 'transitions.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(ts.length);

    const adv = join(dir, 'advantage');
    const f = await runCli(['regret', 'fit', '--data', data, '--pairs', '40', '--epochs', '2', '--save', adv, '--json']);
    expect(f.code).toBe(0);
    const fit = JSON.parse(f.out.trim().split('\n').pop()!) as { results: { labels: string; model: string; valLogLikelihood: number }[]; saved_advantage: string };
    expect(fit.results.map((r) => `${r.labels}/${r.model}`)).toEqual([
      'regret/partial return (BT)', 'regret/regret (r + V)', 'partial-return/partial return (BT)', 'partial-return/regret (r + V)',
    ]);
    for (const r of fit.results) expect(r.valLogLikelihood).toBeLessThan(0);
    expect(fit.saved_advantage).toBe(adv);
    expect(readRewardMeta(adv)).toMatchObject({ model: 'bt', target: 'advantage' });
  }, 300_000);

  it('refuses data it cannot split or read, naming the flag', async () => {
    const few = await runCli(['regret', 'fit', '--data', join(dir, 'missing')]);
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/--data: .*transitions\.jsonl: no such file \(write it with `pamstack regret collect/);
    const bad = await runCli(['regret', 'fit', '--data', join(dir, 'data'), '--same-state', '2']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--same-state/);
    const policy = await runCli(['regret', 'collect', '--policy', 'expert', '--out', join(dir, 'x')]);
    expect(policy.err).toMatch(/--policy: expected a task folder or a policy checkpoint/);
  });
});
