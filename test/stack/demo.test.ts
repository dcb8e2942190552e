import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../../src/stack/demo.ts';
import { readCommittedDefault } from '../../src/stack/flywheel/rebuild.ts';

const committed = readCommittedDefault(join(import.meta.dirname, '../../policies/rope-circle'));

describe('pamstack demo (the main job)', () => {
  it('runs an episode of the committed default with the web server up and logs the link and the first action', async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'pam-demo-'));
    const out = await runDemo({
      task: 'rope-circle', select: 'ras', episodes: 1, seed: 20000, headless: false, port: 0, host: '127.0.0.1',
      db: join(dir, 'demo.db'), stepDelayMs: 0, log: (l) => lines.push(l),
    });
    expect(committed).not.toBeNull();
    expect(lines.some((l) => l.includes(`default policy of rope-circle: ${committed!.method}`))).toBe(true);
    expect(lines.some((l) => /web app: http:\/\/127\.0\.0\.1:\d+\/#\/live&token=pam_/.test(l))).toBe(true);
    expect(lines.some((l) => /first action executed/.test(l))).toBe(true);
    expect(out.result.episodes).toBe(1);
    expect(out.episodes[0]!.steps).toBeGreaterThan(0);
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('headless with the expert: no server, the contract summary', async () => {
    const out = await runDemo({
      task: 'rope-circle', policy: 'expert', select: 'first', episodes: 1, seed: 3, headless: true, port: 0,
      host: '127.0.0.1', db: ':memory:', stepDelayMs: 0, log: () => {},
    });
    expect(out.url).toBeUndefined();
    expect(out.result.success_rate).toBe(1);
  });
});
