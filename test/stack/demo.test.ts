import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../src/stack/demo.ts';
import { readTaskDecider } from '../../src/stack/decider-spec.ts';

const committed = readTaskDecider(join(import.meta.dirname, '../../policies/rope-circle'));

describe('pamstack demo (the main job)', () => {
  it('runs an episode of the committed default with the web server up and logs the link and the first action', async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'pam-demo-'));
    const out = await runDemo({
      task: 'rope-circle', episodes: 1, seed: 20000, headless: false, port: 0, host: '127.0.0.1',
      db: join(dir, 'demo.db'), stepDelayMs: 0, log: (l) => lines.push(l),
    });
    expect(committed).not.toBeNull();
    expect(lines.some((l) => l.includes(`default decider of rope-circle: ${committed!.method}`))).toBe(true);
    // the resolved spec is logged: the folder's N and reward, not a code default
    const decider = lines.find((l) => l.startsWith('decider: '))!;
    expect(JSON.parse(decider.slice(decider.indexOf('{'), decider.lastIndexOf('}') + 1))).toMatchObject({ candidates: committed!.candidates, reward: committed!.reward, lcb: committed!.lcb });
    expect(lines.some((l) => /web app: http:\/\/127\.0\.0\.1:\d+\/#\/live&token=pam_/.test(l))).toBe(true);
    expect(lines.some((l) => /first action executed/.test(l))).toBe(true);
    expect(out.result.episodes).toBe(1);
    expect(out.episodes[0]!.steps).toBeGreaterThan(0);
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('headless with the expert: no server, the contract summary', async () => {
    const out = await runDemo({
      task: 'rope-circle', policy: 'expert', overrides: { select: 'first' }, episodes: 1, seed: 3, headless: true, port: 0,
      host: '127.0.0.1', db: ':memory:', stepDelayMs: 0, log: () => {},
    });
    expect(out.url).toBeUndefined();
    expect(out.result.success_rate).toBe(1);
  });
});
