import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { loadPolicyStages } from '../../ros/stages.ts';

const dir = fileURLToPath(new URL('../../policies/rope-circle', import.meta.url));

describe('policy node stages from a committed policies/<task> folder', () => {
  it('proposes N pick_place candidates from a sim cloud and scores each with a finite reward', async () => {
    const world = await createWorld('rope-circle');
    try {
      world.reset(5);
      const cloud = world.observe({ seed: 5 });
      const stages = await loadPolicyStages({ policy: dir, kind: 'pick_place', workspace: world.workspace });
      const cands = await stages.proposer.propose(cloud, 8, 1);
      expect(cands).toHaveLength(8);
      for (const c of cands) expect(c.kind).toBe('pick_place');
      if (stages.scorer) {
        const scores = await stages.scorer.score(cloud, cands, 1);
        expect(scores).toHaveLength(8);
        for (const s of scores) expect(Number.isFinite(s.score)).toBe(true);
      }
    } finally {
      world.dispose();
    }
  });

  it('refuses a folder whose default.json is malformed, naming the file', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const bad = mkdtempSync(`${tmpdir()}/pam-bad-policy-`);
    writeFileSync(`${bad}/default.json`, JSON.stringify({ method: 'x', policy: 'sl', select: 'best' }));
    await expect(loadPolicyStages({ policy: bad, kind: 'pick_place', workspace: { min: [-1, -1, 0], max: [1, 1, 1] } })).rejects.toThrow(/default\.json[\s\S]*select/);
  });
});
