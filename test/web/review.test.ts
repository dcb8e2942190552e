// In real Chromium: a reviewer sees the disagreements, each item drawn as the annotators saw it (goal,
// candidates, clips) with every answer beside it, settles them, and the export then has the settled labels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { makeCompareItem, makeRankItem, makeSegment } from '../../src/store/items.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../server/_helpers.ts';
import { runCli } from '../stack/run-cli.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let db: string;
let store: Store;
let server: PamServer;
let browser: Browser;
const worlds: World[] = [];
let rita: string;
let rankId: string, pairId: string;
const errors: string[] = [];

beforeAll(async () => {
  const sim = await import('../../sim/index.ts');
  const rope = await sim.createWorld('rope-circle');
  const gran = await sim.createWorld('granular-t');
  worlds.push(rope, gran);
  rope.reset(3);
  gran.reset(3);
  tmp = tempDir();
  db = join(tmp.dir, 'db.sqlite');
  store = new Store(db, { goldEvery: 0, minWatch: 0 });
  rita = store.users.add('rita', 'reviewer').token;
  const alice = store.users.add('alice', 'annotator').user;
  const bob = store.users.add('bob', 'annotator').user;
  const ps = rope.expertActions(3, new Rng(2));
  while (ps.length < 3) ps.push(ps[0]!);
  rankId = store.addItem(
    makeRankItem({ stateId: 'rev-rope', task: 'rope-circle', primitive: 'pick_place', cloud: rope.observe(), candidates: ps.map((primitive) => ({ primitive })), workspace: rope.workspace, goal: rope.taskGoal!() }),
  );
  const seg = (id: string, k: number) => makeSegment({ id, task: 'granular-t', frames: [0, 0.5, 1].map((t) => ({ t, cloud: gran.observe({ seed: k + Math.round(t * 10) }) })) });
  pairId = store.addItem(makeCompareItem({ left: seg('rev-a', 0), right: seg('rev-b', 50), workspace: gran.workspace, goal: gran.taskGoal!() }));
  const rank = (groups: number[][]) => ({ kind: 'rank' as const, groups, notComparable: [], idealBeatsAll: false });
  store.submit(alice, { clientId: 'review-web-001', itemId: rankId, answer: rank([[0], [1], [2]]), durationMs: 4000 });
  store.submit(bob, { clientId: 'review-web-002', itemId: rankId, answer: rank([[2], [1], [0]]), durationMs: 5000 });
  store.submit(alice, { clientId: 'review-web-003', itemId: pairId, answer: { kind: 'compare', label: 'left', flag: { reason: 'unclear', comment: 'grains hide the T' } }, durationMs: 3000 });
  store.submit(bob, { clientId: 'review-web-004', itemId: pairId, answer: { kind: 'compare', label: 'right', strength: 'slight' }, durationMs: 3000 });
  server = await startServer({ port: 0, store, log: () => {} });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  for (const w of worlds) w.dispose();
  tmp?.cleanup();
});

const toastText = (page: Page) => page.locator('#toasts .toast').allTextContents();

describe('review view', () => {
  it('a reviewer settles both disagreements and the export has the settled labels', async () => {
    const page = await newPage(browser, errors);
    await page.goto(`${server.url}#/review&token=${rita}`);
    // The ranking disagrees most (every pair reversed), so it comes first.
    await waitHooks(page, `p.view === 'review' && p.ready && p.itemId === ${JSON.stringify(rankId)}`, 60_000);
    expect(await page.locator('header nav a').allTextContents()).toEqual(['Review']);
    expect(await page.locator('table.disagreements tr[data-item]').count()).toBe(2);
    expect(await page.locator('.goal-caption').textContent()).toMatch(/^Goal: lay the rope in a circle/);
    const answers = await page.locator('ol.originals li').allTextContents();
    expect(answers[0]).toMatch(/^alice1 › 2 › 3/);
    expect(answers[1]).toMatch(/^bob3 › 2 › 1/);
    await screenshot(page, 'review-rank');

    // A typed ranking naming a candidate the item lacks, or one twice: refused with the allowed numbers.
    await page.locator('input.rank-input').fill('9 > 1');
    await page.locator('input.rank-input').press('Enter');
    await until(async () => (await toastText(page)).includes('ranking: "9" is not a candidate; this state has 1–3'), 10_000, 'the refusal toast');
    await page.locator('input.rank-input').fill('1 > 2 = 1');
    await page.locator('input.rank-input').press('Enter');
    await until(async () => (await toastText(page)).includes('ranking: candidate 1 is placed twice'), 10_000, 'the refusal toast');
    await page.locator('input.rank-input').fill('');

    // Key 2: settle with bob's answer; the next disagreement (the clip pair) opens.
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Digit2');
    await waitHooks(page, `p.lastSettled?.itemId === ${JSON.stringify(rankId)} && p.ready && p.itemId === ${JSON.stringify(pairId)}`, 30_000);
    expect(await page.locator('table.disagreements tr[data-item]').count()).toBe(1);
    expect(await page.locator('.goal-caption').textContent()).toMatch(/^Goal: /);
    expect(await page.locator('ol.originals li').allTextContents()).toEqual([expect.stringMatching(/^aliceleft betterUse 1⚑ unclear: grains hide the T$/), expect.stringMatching(/^bobright better \(slight\)Use 2$/)]);
    await screenshot(page, 'review-compare');

    // Settle the pair with a label of the reviewer's own and a note.
    await page.locator('input.note').fill('the left clip spills grains outside the T');
    await page.locator('button.settle-label.s-right').click();
    await waitHooks(page, `p.lastSettled?.itemId === ${JSON.stringify(pairId)} && p.disagreements.length === 0 && p.ready`, 30_000);
    expect(await page.locator('.panel.review .empty').textContent()).toBe('No disagreements to settle.');
    await screenshot(page, 'review-done');
    await page.close();
    expect(errors).toEqual([]);

    // The export gives one record per settled item, with the reviewer's label.
    const out = join(tmp.dir, 'dataset');
    expect((await runCli(['store', 'export', '--db', db, '--out', out])).code).toBe(0);
    const lines = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines('rankings.jsonl')).toMatchObject([{ stateId: 'rev-rope', groups: [[2], [1], [0]], annotator: 'rita', annotation: { itemId: rankId, settled: { by: 'rita', answers: 2 } } }]);
    expect(lines('segment_pairs.jsonl')).toMatchObject([
      { left: 'rev-a', right: 'rev-b', label: 'right', annotator: 'rita', annotation: { settled: { by: 'rita', note: 'the left clip spills grains outside the T', answers: 2 } } },
    ]);
  }, 120_000);
});
