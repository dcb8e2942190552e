// In real Chromium: an annotator signs in, ranks states and compares clip pairs with the keyboard only; rows land in the DB.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, ropeCloud, tempDir, WORKSPACE } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let browser: Browser;
let page: Page;
let token: string;
const errors: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  // a 4 s minimum watch (longer than the clips' one play) so "too early" holds on a loaded machine too
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0, minWatch: 4000 });
  token = store.users.add('alice', 'annotator').token;
  addRankItems(store, 4, { minAnnotations: 1, points: 400 });
  addCompareItems(store, 3, { minAnnotations: 1 });
  server = await startServer({ port: 0, store, log: () => {} });
  browser = await launchBrowser();
  page = await newPage(browser, errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  tmp?.cleanup();
});

type Row = { item_id: string; status: string; value: string | null };
const rows = () => store.db.prepare('SELECT item_id, status, value FROM answers ORDER BY id').all() as Row[];
const itemId = (p: Page) => p.evaluate(() => window.__pam.itemId);

describe('annotator in the browser, keyboard only', () => {
  it('signs in by typing the token', async () => {
    await page.goto(server.url);
    await waitHooks(page, "p.view === 'login'");
    await screenshot(page, 'login');
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await waitHooks(page, "p.view === 'rank' && p.ready && p.itemId !== null");
    expect(await page.locator('header .who').textContent()).toContain('alice · annotator');
    expect(await page.locator('header nav a').allTextContents()).toEqual(['Rank', 'Compare', 'Live']);
    // First visit: the task's guidelines (what "better" means) come up and hold the keys until read.
    await waitHooks(page, 'p.guidelinesOpen === true');
    expect(await page.locator('.guidelines-dialog h3').first().textContent()).toBe('Rope: what "better" means');
    await screenshot(page, 'guidelines-first-visit');
    await page.keyboard.press('Escape');
    await waitHooks(page, 'p.guidelinesOpen === false');
    await page.keyboard.press('Shift+Slash'); // "?": the shortcuts and the guidelines
    await page.waitForTimeout(200);
    expect(await page.locator('.help').isVisible()).toBe(true);
    await until(async () => (await page.locator('.help .guidelines-section .md h3').count()) > 0, 10_000, 'the guidelines under the shortcuts');
    await screenshot(page, 'rank-help');
    await page.keyboard.press('Shift+Slash');
    expect(await page.locator('.help').isVisible()).toBe(false);
  });

  it('ranks a state: best, a tie, not-comparable, submit; the ranking is in the DB', async () => {
    const first = await itemId(page);
    await page.keyboard.press('Digit3'); // candidate 3 is best
    await page.keyboard.press('Shift+Digit1'); // 1 ties with 3
    await page.keyboard.press('KeyN');
    await page.keyboard.press('Digit5'); // 5 set aside as not comparable
    await page.keyboard.press('Digit2'); // then 2; the rest (4, 6) look alike
    await page.waitForTimeout(200);
    expect(await page.locator('.ranking').textContent()).toContain('3 = 1 › 2 › rest (4, 6)');
    await screenshot(page, 'rank');
    // The same screen on a large monitor.
    await page.setViewportSize({ width: 2560, height: 1440 });
    await page.waitForTimeout(400);
    await screenshot(page, 'rank-2560x1440');
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    const r = await until(() => rows().find((x) => x.item_id === first), 15_000, 'the ranking row');
    expect(r.status).toBe('submitted');
    expect(JSON.parse(r.value!)).toEqual({ kind: 'rank', groups: [[2, 0], [1]], notComparable: [4], idealBeatsAll: false });
    await until(async () => (await itemId(page)) !== first);
  });

  it('undoes the last answer (Z): the state comes back with the ranking to edit; resubmits', async () => {
    const second = await itemId(page);
    await page.keyboard.press('Digit6');
    await page.keyboard.press('Enter');
    await until(() => rows().find((x) => x.item_id === second));
    await waitHooks(page, `p.itemId !== ${JSON.stringify(second)}`);
    await page.keyboard.press('KeyZ');
    await waitHooks(page, `p.itemId === ${JSON.stringify(second)}`);
    await until(() => rows().find((x) => x.item_id === second && x.status === 'retracted'), 15_000, 'the retraction');
    expect(await page.locator('.ranking').textContent()).toContain('6 › rest');
    await page.keyboard.press('Backspace'); // take back "6"
    await page.keyboard.press('Digit4');
    await page.keyboard.press('Enter');
    const r = await until(() => rows().find((x) => x.item_id === second && x.status === 'submitted'), 15_000, 'the resubmission');
    expect(JSON.parse(r.value!).groups).toEqual([[3]]);
  });

  it('draws an ideal action on the cloud (I, two clicks, B) and skips (S)', async () => {
    await waitHooks(page, 'p.itemId !== null');
    const third = await itemId(page);
    const canvas = (await page.locator('canvas').boundingBox())!;
    await page.keyboard.press('KeyI');
    const item = store.item(third!)!;
    if (item.kind !== 'rank') throw new Error('expected a rank item');
    // Click two points of the item's cloud, where the app draws them.
    const pts = new Float32Array(Buffer.from(item.cloud.points, 'base64').buffer.slice(0));
    for (const i of [20, 300]) {
      const s = (await page.evaluate(([x, y, z]) => (window.__pam.project as (a: number, b: number, c: number) => { x: number; y: number })(x!, y!, z!), [pts[i * 3]!, pts[i * 3 + 1]!, pts[i * 3 + 2]!])) as { x: number; y: number };
      await page.mouse.click(canvas.x + s.x, canvas.y + s.y);
    }
    await page.keyboard.press('KeyB');
    await page.keyboard.press('Digit1');
    await page.keyboard.press('Enter');
    const r = await until(() => rows().find((x) => x.item_id === third), 15_000, 'the ranking with an ideal action');
    const v = JSON.parse(r.value!);
    expect(v.idealBeatsAll).toBe(true);
    expect(v.ideal.kind).toBe('pick_place');
    // Snapped to the clicked cloud points.
    expect(v.ideal.a[0]).toBeCloseTo(pts[20 * 3]!, 3);
    expect(v.ideal.b[1]).toBeCloseTo(pts[300 * 3 + 1]!, 3);
    await waitHooks(page, `p.itemId !== ${JSON.stringify(third)}`);
    const fourth = await itemId(page);
    await page.keyboard.press('KeyS');
    await until(() => rows().find((x) => x.item_id === fourth && x.status === 'skipped'), 15_000, 'the skip');
    await waitHooks(page, 'p.ready && p.itemId === null');
    await page.waitForTimeout(300);
    expect(await page.locator('.panel .empty').textContent()).toMatch(/Nothing left to rank/);
    expect(await page.locator('header .progress').textContent()).toMatch(/done 3/);
  });

  it('compares clip pairs with the arrow keys; speed persists; frame step pauses', async () => {
    await page.keyboard.press('Alt+Digit2');
    await waitHooks(page, "p.view === 'compare' && p.itemId !== null");
    const first = await itemId(page);
    await page.keyboard.press('BracketRight'); // faster: 1 → 1.5
    await page.keyboard.press('Comma'); // a frame back: pauses
    const clock = (await page.evaluate(() => (window.__pam.clock as () => { playing: boolean; speed: number })())) as { playing: boolean; speed: number };
    expect(clock).toMatchObject({ playing: false, speed: 1.5 });
    expect(await page.evaluate(() => localStorage.getItem('pam.speed'))).toBe('1.5');
    await page.keyboard.press('Space'); // play again for the screenshot
    await page.waitForTimeout(400);
    // Too early: under the 4 s minimum watch the answer is held back, nothing is stored.
    expect(await page.evaluate(() => window.__pam.watching)).toBe(true);
    await page.keyboard.press('ArrowLeft');
    await screenshot(page, 'compare');
    expect(await page.locator('.toast').last().textContent()).toMatch(/watch both clips once first/);
    expect(rows().find((x) => x.item_id === first)).toBeUndefined();
    await waitHooks(page, 'p.watching === false', 10_000);
    const shownLeft = (await page.evaluate(() => window.__pam.shownLeft)) as string;
    await page.keyboard.press('ArrowLeft');
    const r = await until(() => rows().find((x) => x.item_id === first), 15_000, 'the left label', page);
    const item = store.item(first!) as { left: { id: string } };
    // Stored in the item's order: "left as shown" is the item's right clip when the sides were swapped.
    expect(JSON.parse(r.value!)).toEqual({ kind: 'compare', label: shownLeft === item.left.id ? 'left' : 'right', strength: 'clear' });
    await waitHooks(page, `p.itemId !== ${JSON.stringify(first)} && p.itemId !== null`);
    const second = await itemId(page);
    await waitHooks(page, 'p.watching === false', 10_000);
    await page.keyboard.press('ArrowDown');
    expect(JSON.parse((await until(() => rows().find((x) => x.item_id === second), 15_000))!.value!)).toEqual({ kind: 'compare', label: 'cant_tell' });
    await waitHooks(page, `p.itemId !== ${JSON.stringify(second)} && p.itemId !== null`);
    const third = await itemId(page);
    await waitHooks(page, 'p.watching === false', 10_000);
    await page.keyboard.press('ArrowUp');
    expect(JSON.parse((await until(() => rows().find((x) => x.item_id === third), 15_000))!.value!).label).toBe('tie');
    // The speed survives a reload.
    await page.reload();
    await waitHooks(page, "p.view === 'compare' && p.ready");
    expect(((await page.evaluate(() => (window.__pam.clock as () => { speed: number })())) as { speed: number }).speed).toBe(1.5);
  });

  it('shows the live view with candidates, scores and the chosen action', async () => {
    await page.keyboard.press('Alt+Digit3');
    await waitHooks(page, "p.view === 'live'");
    const rng = new Rng(11);
    const cands = [0, 1, 2, 3, 4].map((i) => ({
      primitive: { kind: 'pick_place' as const, a: [0.18 * Math.cos(i), 0.12 * Math.sin(i), 0.006] as [number, number, number], b: [0.05 * i - 0.1, -0.15, 0.006] as [number, number, number] },
      score: 0.2 * i - 0.3,
      safe: i !== 1,
    }));
    for (let k = 0; k < 5; k++) {
      server.publishLive({ cloud: makeCloud(ropeCloud(5000, rng, k * 0.05), 'table', k), task: 'rope-circle', episode: 2, step: k, candidates: cands, chosen: 4, metrics: { iou: 0.61, chamfer: 0.021 }, workspace: WORKSPACE, source: 'sim' });
      await page.waitForTimeout(80);
    }
    await waitHooks(page, '(p.live && p.live.frames >= 2)');
    await page.waitForTimeout(300);
    expect(await page.locator('.panel .cands li.chosen').count()).toBe(1);
    await screenshot(page, 'live');
    expect(errors).toEqual([]);
  });
});
