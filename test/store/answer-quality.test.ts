// Answer quality in the store: minimum watch time of a clip pair, sides randomised per assignment and
// recorded (labels stored in the item's order), the ideal action inside the workspace, and what the export carries.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompareItem } from '../../src/core/protocol.ts';
import { exportRecords } from '../../src/store/export.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';

let clock = 1_000_000;
const open: { store: Store; cleanup: () => void }[] = [];
function makeStore(opts: ConstructorParameters<typeof Store>[1] = {}) {
  const t = tempDir();
  const store = new Store(join(t.dir, 'db.sqlite'), { now: () => clock, goldEvery: 0, ...opts });
  open.push({ store, cleanup: t.cleanup });
  return store;
}
afterEach(() => {
  for (const o of open.splice(0)) {
    o.store.close();
    o.cleanup();
  }
});

let cid = 0;
const nextCid = () => `aq-client-${(++cid).toString().padStart(6, '0')}`;

describe('minimum watch time', () => {
  it('refuses a compare answer before one play of the shorter clip (1.75 s), from the assignment or the previous answer', async () => {
    const store = makeStore({ randomizeSides: false });
    const u = store.users.add('ann', 'annotator').user;
    addCompareItems(store, 2, { minAnnotations: 1 });
    const [a, b] = store.next(u, { count: 2 });
    clock += 210;
    expect(() => store.submit(u, { clientId: nextCid(), itemId: a!.id, answer: { kind: 'compare', label: 'left' }, durationMs: 210 })).toThrow(
      'answer: answered 210 ms after the clips appeared; watch at least one full play of the shorter clip (1.75 s) first',
    );
    clock += 1540;
    store.submit(u, { clientId: nextCid(), itemId: a!.id, answer: { kind: 'compare', label: 'left' }, durationMs: 1750 });
    // The second item was prefetched with the first: its clock starts at the previous answer.
    clock += 1000;
    expect(() => store.submit(u, { clientId: nextCid(), itemId: b!.id, answer: { kind: 'compare', label: 'tie' }, durationMs: 1000 })).toThrow(/answered 1000 ms/);
    clock += 750;
    store.submit(u, { clientId: nextCid(), itemId: b!.id, answer: { kind: 'compare', label: 'tie' }, durationMs: 1750 });
  });

  it('refuses a compare answer for an item not assigned to the annotator; a fixed watch time applies to every pair; 0 turns it off', () => {
    const store = makeStore({ minWatch: 5000 });
    const u = store.users.add('ann', 'annotator').user;
    const [id] = addCompareItems(store, 1, { minAnnotations: 1 });
    expect(() => store.submit(u, { clientId: nextCid(), itemId: id!, answer: { kind: 'compare', label: 'left' }, durationMs: 1 })).toThrow(/not assigned to you now/);
    store.next(u, { count: 1 });
    clock += 4000;
    expect(() => store.submit(u, { clientId: nextCid(), itemId: id!, answer: { kind: 'compare', label: 'left' }, durationMs: 1 })).toThrow(/\(5.00 s\)/);
    const off = makeStore({ minWatch: 0 });
    const v = off.users.add('ann', 'annotator').user;
    const [id2] = addCompareItems(off, 1, { minAnnotations: 1 });
    off.submit(v, { clientId: nextCid(), itemId: id2!, answer: { kind: 'compare', label: 'left' }, durationMs: 1 });
    expect(() => makeStore({ minWatch: -1 })).toThrow("minWatch: expected 'shorter-clip' or an integer ≥ 0 (ms), received -1");
  });
});

describe('sides', () => {
  it('shows some pairs swapped, records it, and stores the label in the item order; the export says so', () => {
    const store = makeStore({ minWatch: 0 });
    const u = store.users.add('ann', 'annotator').user;
    const ids = addCompareItems(store, 24, { minAnnotations: 1 });
    const shown = store.next(u, { count: 5 });
    const rest: CompareItem[] = [];
    while (rest.length + shown.length < ids.length) {
      const more = store.next(u, { count: 5, have: [...shown, ...rest].map((x) => x.id) }) as CompareItem[];
      if (!more.length) break;
      rest.push(...more);
    }
    const all = [...shown, ...rest] as CompareItem[];
    expect(all).toHaveLength(24);
    const swapped = all.filter((it) => store.item(it.id)!.kind === 'compare' && (store.item(it.id) as CompareItem).left.id !== it.left.id);
    // 24 fair coin flips: both orders occur (P(all one way) = 2^-23).
    expect(swapped.length).toBeGreaterThan(0);
    expect(swapped.length).toBeLessThan(24);
    for (const it of all) store.submit(u, { clientId: nextCid(), itemId: it.id, answer: { kind: 'compare', label: 'left', strength: 'slight' }, durationMs: 2000, client: 'Mozilla/5.0 test' });
    const recs = [...exportRecords(store)];
    for (const r of recs) {
      if (r.kind !== 'segment_pair') throw new Error('expected pairs');
      const it = all.find((x) => x.id === r.annotation!.itemId)!;
      // "left" as shown is the clip the annotator saw on the left, whichever side of the item it is.
      expect(r.left === it.left.id ? 'left' : 'right').toBe(r.label);
      expect(r.annotation).toMatchObject({ shownSwapped: it.left.id !== r.left, durationMs: 2000, client: 'Mozilla/5.0 test', strength: 'slight', assignedAt: expect.any(Number) });
    }
  });

  it('a reconnect and an undo show the same sides again', () => {
    const store = makeStore({ minWatch: 0 });
    const u = store.users.add('ann', 'annotator').user;
    addCompareItems(store, 6, { minAnnotations: 1 });
    const first = store.next(u, { count: 5 }) as CompareItem[];
    const again = store.next(u, { count: 5 }) as CompareItem[];
    expect(again.map((x) => [x.id, x.left.id])).toEqual(first.map((x) => [x.id, x.left.id]));
    const c = nextCid();
    store.submit(u, { clientId: c, itemId: first[0]!.id, answer: { kind: 'compare', label: 'right' }, durationMs: 1 });
    store.undo(u, c);
    const back = (store.next(u, { count: 5 }) as CompareItem[]).find((x) => x.id === first[0]!.id)!;
    expect(back.left.id).toBe(first[0]!.left.id);
  });
});

describe('ideal action', () => {
  it.each([
    [[1e9, 0, 0.01], [0.1, 0, 0.01], 'answer.ideal.a', 'pick.x = 1000000000 m is above workspace max.x = 0.4 m'],
    [[0, 0, 0.01], [0.1, -0.5, 0.01], 'answer.ideal.b', 'place.y = -0.5 m is below workspace min.y = -0.3 m'],
  ])('refuses an ideal action outside the workspace (%j → %j) naming %s and the bound', (a, b, field, msg) => {
    const store = makeStore();
    const u = store.users.add('ann', 'annotator').user;
    const [id] = addRankItems(store, 1, { minAnnotations: 1 });
    const submit = () =>
      store.submit(u, { clientId: nextCid(), itemId: id!, answer: { kind: 'rank', groups: [[0]], notComparable: [], idealBeatsAll: false, ideal: { kind: 'pick_place', a: a as never, b: b as never } }, durationMs: 1 });
    expect(submit).toThrow(`${field}: ${msg}`);
    expect([...exportRecords(store)]).toEqual([]);
  });
});

describe('flags', () => {
  it('keeps a flag with its comment in the export and on a skip', () => {
    const store = makeStore();
    const u = store.users.add('ann', 'annotator').user;
    const [r0, r1] = addRankItems(store, 2, { minAnnotations: 1 });
    store.submit(u, { clientId: nextCid(), itemId: r0!, answer: { kind: 'rank', groups: [[1]], notComparable: [], idealBeatsAll: false, flag: { reason: 'unclear', comment: 'two ropes?' } }, durationMs: 5 });
    store.skip(u, nextCid(), r1!, { reason: 'broken', comment: 'empty cloud' });
    const [rec] = [...exportRecords(store)];
    expect(rec!.annotation).toMatchObject({ itemId: r0, flag: { reason: 'unclear', comment: 'two ropes?' } });
    const skipped = store.db.prepare("SELECT value FROM answers WHERE status = 'skipped'").get() as { value: string };
    expect(JSON.parse(skipped.value)).toEqual({ flag: { reason: 'broken', comment: 'empty cloud' } });
  });
});
