// `pamstack flywheel`: two on-policy rounds on a tiny budget through the real commands.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { featuresFlag } from '../../src/stack/flywheel/rounds.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const P = join(root, 'policies/rope-circle');

describe('pamstack flywheel (on-policy rounds)', () => {
  it('labels along the current reward, retrains on all labels so far and evaluates, a row per round', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pam-fly-'));
    // the committed SL policy with its object-feature robust reward, N = 8 to keep the test small
    writeFileSync(join(dir, 'default.json'), JSON.stringify({ policy: join(P, 'sl'), select: 'ras', reward: 'robust', rewardDir: join(P, 'reward-robust'), lcb: 1, candidates: 8 }));
    const out = join(dir, 'rounds');
    const { stdout } = await run(process.execPath, [join(root, 'bin/pamstack.js'), 'flywheel', '--task', 'rope-circle', '--policy', dir, '--out', out, '--rounds', '2', '--states', '3', '--epochs', '2', '--eval-episodes', '1', '--json'], { cwd: root, maxBuffer: 1 << 24, env: { ...process.env, PAMSTACK_QUIET: '1' } });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { rounds: { round: number; states: number; success_rate: number; metric: number; rewardDir: string }[] };
    expect(summary.rounds.map((r) => [r.round, r.states])).toEqual([[0, 3], [1, 6]]);
    for (const r of summary.rounds) {
      expect(existsSync(join(r.rewardDir, 'reward.json'))).toBe(true);
      expect(r.success_rate).toBeGreaterThanOrEqual(0);
      expect(r.metric).toBeGreaterThan(0);
    }
    const rounds = JSON.parse(readFileSync(join(out, 'rounds.json'), 'utf8')) as { commands: string[] };
    // round 1 labels with round 0's reward and trains on both rounds' labels
    expect(rounds.commands.find((c) => c.includes('label') && c.includes('round-1/prefs'))).toContain(`--reward-dir ${join(out, 'round-0/reward')}`);
    expect(rounds.commands.find((c) => c.includes('train reward') && c.includes('round-1/reward'))).toContain(`${join(out, 'round-0/prefs')},${join(out, 'round-1/prefs')}`);
    expect(readFileSync(join(out, 'rounds.md'), 'utf8')).toMatch(/\| 1 \| 6 \| /);
    expect(featuresFlag(join(out, 'round-1/reward'))).toBe(featuresFlag(join(P, 'reward-robust')));
  }, 600_000);
});
