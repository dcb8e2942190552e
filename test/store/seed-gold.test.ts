// `store seed --gold K`: the first K states and pairs become gold items whose answers come from the scripted oracle.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompareItem, RankAnswer, RankItem } from '../../src/core/protocol.ts';
import { scoreCandidatesInWorld } from '../../src/preference/candidate-oracle.ts';
import { goldRanking } from '../../src/store/seed-from-world.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../server/_helpers.ts';
import { runCli } from '../stack/run-cli.ts';

describe('gold items at seeding', () => {
  it('goldRanking: best first, equal scores tied, refused (−∞) last together', () => {
    expect(goldRanking([0.2, 0.5, -Infinity, 0.5, 0.1, -Infinity])).toEqual({ kind: 'rank', groups: [[1, 3], [0], [4], [2, 5]], notComparable: [], idealBeatsAll: false });
  });

  it('store seed --gold 1 makes one gold state and one gold pair, answered as the oracle scores them', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, 'db.sqlite');
      const r = await runCli(['store', 'seed', '--task', 'rope-circle', '--db', db, '--states', '2', '--pairs', '1', '--gold', '1', '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out.trim().split('\n').at(-1)!)).toEqual({ rank: 2, compare: 1 });
      const s = new Store(db);
      const rows = s.db.prepare('SELECT id, kind, gold FROM items ORDER BY seq').all() as { id: string; kind: string; gold: string | null }[];
      expect(rows.map((x) => [x.kind, x.gold !== null])).toEqual([
        ['rank', true],
        ['rank', false],
        ['compare', true],
      ]);
      // The gold ranking is the oracle's: re-try each candidate from the same state.
      const item = s.item(rows[0]!.id) as RankItem;
      const sim = await import('../../sim/index.ts');
      const w = await sim.createWorld('rope-circle');
      w.reset(0);
      const scores = (await scoreCandidatesInWorld(w, item.candidates.map((c) => c.primitive))).map((x) => x.score);
      expect(JSON.parse(rows[0]!.gold!) as RankAnswer).toEqual(goldRanking(scores));
      expect(['left', 'right', 'tie']).toContain(JSON.parse(rows[2]!.gold!).label);
      expect((s.item(rows[2]!.id) as CompareItem).goal?.kind).toBe('curve');
      w.dispose();
      s.close();
    } finally {
      cleanup();
    }
  });
});
