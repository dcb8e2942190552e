// `pamstack store export` writes a dataset folder that the preference code reads as is.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { SegmentPairSchema } from '../../src/core/preference.ts';
import { RANKINGS_FILE, readRankings, readStates } from '../../src/preference/dataset.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pamstack.js', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('exports rankings.jsonl, segment_pairs.jsonl and states.jsonl that src/preference reads', () => {
  const db = join(tmp.dir, 'db.sqlite');
  const s = new Store(db, { minWatch: 0 });
  const u = s.users.add('alice', 'annotator').user;
  const [r0, r1] = addRankItems(s, 3);
  const [c0] = addCompareItems(s, 1);
  s.submit(u, { clientId: 'export-cli-001', itemId: r0!, answer: { kind: 'rank', groups: [[1], [0, 2]], notComparable: [], idealBeatsAll: false }, durationMs: 3 });
  s.submit(u, { clientId: 'export-cli-002', itemId: r1!, answer: { kind: 'rank', groups: [[4]], notComparable: [5], idealBeatsAll: false }, durationMs: 3 });
  s.submit(u, { clientId: 'export-cli-003', itemId: c0!, answer: { kind: 'compare', label: 'right' }, durationMs: 3 });
  s.close();

  const out = join(tmp.dir, 'dataset');
  const stdout = execFileSync(process.execPath, [BIN, 'store', 'export', '--db', db, '--out', out, '--json'], { encoding: 'utf8' });
  expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ out, rankings: 2, segment_pairs: 1, states: 2 });

  const rankings = readRankings(join(out, RANKINGS_FILE));
  expect(rankings.map((r) => [r.stateId, r.groups])).toEqual([
    ['state-0', [[1], [0, 2]]],
    ['state-1', [[4]]],
  ]);
  const states = readStates(out);
  expect(states.map((x) => [x.stateId, x.candidates.length, x.cloud.points.length / 3])).toEqual([
    ['state-0', 6, 64],
    ['state-1', 6, 64],
  ]);
  const pairs = readFileSync(join(out, 'segment_pairs.jsonl'), 'utf8').trim().split('\n').map((l) => SegmentPairSchema.parse(JSON.parse(l)));
  expect(pairs).toMatchObject([{ left: 'seg-0-a', right: 'seg-0-b', label: 'right', annotator: 'alice', source: 'human' }]);
});
