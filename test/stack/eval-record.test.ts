import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBagEpisodes } from '../../src/record/index.ts';
import { main } from '../../src/stack/cli.ts';

describe('pamstack eval --record', () => {
  it('writes one MCAP bag per episode that reads back with a step per executed primitive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pam-eval-rec-'));
    const code = await main(['node', 'pamstack', 'eval', '--task', 'rope-circle', '--policy', 'expert', '--episodes', '1', '--seed', '3', '--record', dir, '--quiet', '--json']);
    expect(code).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.mcap'));
    expect(files).toHaveLength(1);
    const eps = await readBagEpisodes(join(dir, files[0]!));
    const steps = eps.flatMap((e) => e.steps);
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect(s.cloud?.points.length ?? 0).toBeGreaterThan(0);
      expect(s.executed?.kind).toBe('pick_place');
    }
  });
});
