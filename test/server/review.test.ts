// The reviewers' ops over a real socket: who may use them, the list of disagreements, settling one, and errors naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { exportRecords } from '../../src/store/export.ts';
import { addCompareItems, addRankItems, connect } from './_helpers.ts';

let store: Store;
let server: PamServer;
const tokens: Record<string, string> = {};
let rankId: string, pairId: string, agreedId: string;

beforeAll(async () => {
  store = new Store(':memory:', { goldEvery: 0, minWatch: 0 });
  for (const [name, role] of [['rita', 'reviewer'], ['boss', 'admin'], ['ann', 'annotator'], ['op', 'operator']] as const) tokens[name] = store.users.add(name, role).token;
  const a = store.users.add('alice', 'annotator').user;
  const b = store.users.add('bob', 'annotator').user;
  [rankId, agreedId] = addRankItems(store, 2);
  [pairId] = addCompareItems(store, 1);
  const rank = (groups: number[][]) => ({ kind: 'rank' as const, groups, notComparable: [], idealBeatsAll: false });
  let k = 0;
  const cid = () => `review-${String(++k).padStart(4, '0')}`;
  store.submit(a, { clientId: cid(), itemId: rankId!, answer: rank([[0], [1]]), durationMs: 1 });
  store.submit(b, { clientId: cid(), itemId: rankId!, answer: rank([[1], [0]]), durationMs: 1 });
  store.submit(a, { clientId: cid(), itemId: agreedId!, answer: rank([[0]]), durationMs: 1 });
  store.submit(b, { clientId: cid(), itemId: agreedId!, answer: rank([[0]]), durationMs: 1 });
  store.submit(a, { clientId: cid(), itemId: pairId!, answer: { kind: 'compare', label: 'left' }, durationMs: 1 });
  store.submit(b, { clientId: cid(), itemId: pairId!, answer: { kind: 'compare', label: 'right' }, durationMs: 1 });
  server = await startServer({ port: 0, store, log: () => {} });
});

afterAll(async () => {
  await server?.close();
  store?.close();
});

describe('review ops', () => {
  it.each(['ann', 'op'])('refuses %s (needs reviewer or admin)', async (who) => {
    const c = await connect(server.url, tokens[who]!);
    for (const msg of [{ op: 'disagreements' }, { op: 'review.item', itemId: rankId }, { op: 'settle', itemId: rankId, label: { kind: 'rank', groups: [[0]] } }])
      expect(await c.request(msg)).toMatchObject({ op: 'error', code: 'forbidden', field: 'op', message: expect.stringMatching(/needs role admin or reviewer/) });
    c.close();
  });

  it('lists the disagreements, sends an item, settles one, and names the bad field', async () => {
    const c = await connect(server.url, tokens.rita!);
    const list = await c.request({ op: 'disagreements' });
    expect(list.op).toBe('disagreements');
    if (list.op !== 'disagreements') return;
    expect(list.disagreements.map((d) => [d.itemId, d.originals.map((o) => o.annotator)]).sort()).toEqual([
      [pairId, ['alice', 'bob']],
      [rankId, ['alice', 'bob']],
    ]);
    expect(await c.request({ op: 'review.item', itemId: pairId })).toMatchObject({ op: 'review.item', item: { id: pairId, kind: 'compare' } });
    expect(await c.request({ op: 'review.item', itemId: 'nope' })).toMatchObject({ op: 'error', code: 'not_found', field: 'itemId' });
    expect(await c.request({ op: 'settle', itemId: pairId, label: { kind: 'compare', label: 'up' } })).toMatchObject({ op: 'error', code: 'invalid', field: 'label.label' });
    expect(await c.request({ op: 'settle', itemId: rankId, label: { kind: 'rank', groups: [[9]] } })).toMatchObject({
      op: 'error',
      code: 'invalid',
      field: 'label.groups.0.0',
      message: expect.stringMatching(/expected a candidate index in \[0, 5\], received 9/),
    });
    expect(await c.request({ op: 'settle', itemId: agreedId, label: { kind: 'rank', groups: [[0]] } })).toMatchObject({ op: 'error', code: 'conflict', field: 'itemId' });
    expect(await c.request({ op: 'settle', itemId: pairId, label: { kind: 'compare', label: 'right' }, note: 'left clip drops it' })).toMatchObject({
      op: 'settled',
      itemId: pairId,
      settlement: { reviewer: 'rita', note: 'left clip drops it', label: { kind: 'compare', label: 'right' } },
    });
    const after = await c.request({ op: 'disagreements' });
    expect(after.op === 'disagreements' && after.disagreements.map((d) => d.itemId)).toEqual([rankId]);
    const pairs = [...exportRecords(store, { kind: 'segment_pair' })];
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({ label: 'right', annotator: 'rita', annotation: { settled: { by: 'rita', answers: 2 } } });
    // Over HTTP the same: the settled record, and the originals (marked) when asked.
    const get = async (q: string) =>
      (await (await fetch(`${server.url}api/export${q}`, { headers: { authorization: `Bearer ${tokens.boss}` } })).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; annotator: string; annotation?: { original?: boolean } })
        .filter((r) => r.kind === 'segment_pair')
        .map((r) => [r.annotator, r.annotation?.original ?? false]);
    expect(await get('')).toEqual([['rita', false]]);
    expect(await get('?originals=1')).toEqual([['alice', true], ['bob', true], ['rita', false]]);
    // An admin may settle too, and sees settled items on request.
    const boss = await connect(server.url, tokens.boss!);
    const all = await boss.request({ op: 'disagreements', includeSettled: true });
    expect(all.op === 'disagreements' && all.disagreements.length).toBe(2);
    c.close();
    boss.close();
  });
});
