// In real Chromium: the live view stays readable with 128 candidates (top 10 drawn, labels never overlap, a
// scrolling list, focus with the arrow keys, "show all"), and a 32-candidate ranking is done by keyboard alone.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/core/episode.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { makeRankItem } from '../../src/store/items.ts';
import { Store } from '../../src/store/store.ts';
import { ropeCloud, tempDir, WORKSPACE } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let browser: Browser;
const tokens: Record<string, string> = {};
const errors: string[] = [];

function candidates(k: number, rng: Rng, scored: boolean): Candidate[] {
  return Array.from({ length: k }, (_, i) => {
    const a: [number, number, number] = [rng.uniform(-0.2, 0.2), rng.uniform(-0.13, 0.13), 0.006];
    const c: Candidate = { primitive: { kind: 'pick_place', a, b: [a[0] + rng.uniform(-0.1, 0.1), a[1] + rng.uniform(-0.1, 0.1), 0.006] } };
    if (scored) c.score = Math.round((1 - i / k + rng.normal(0, 0.05)) * 1000) / 1000 + 3;
    return c;
  });
}

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  tokens.ann = store.users.add('ann', 'annotator').token;
  tokens.adm = store.users.add('adm', 'admin').token;
  const rng = new Rng(3);
  store.addItem(makeRankItem({ stateId: 'many', task: 'rope-circle', primitive: 'pick_place', cloud: makeCloud(ropeCloud(600, rng), 'table'), candidates: candidates(32, rng, false), workspace: WORKSPACE }), { minAnnotations: 1 });
  server = await startServer({ port: 0, store, log: () => {} });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  tmp?.cleanup();
});

/** Bounding boxes of the visible candidate labels; throws on any two that overlap. */
async function labelBoxes(page: Page): Promise<{ n: number; overlaps: number }> {
  return page.evaluate(() => {
    const r = [...document.querySelectorAll<HTMLElement>('.viewer-overlay .label.cand')].filter((e) => e.style.display !== 'none').map((e) => e.getBoundingClientRect());
    let overlaps = 0;
    for (let i = 0; i < r.length; i++)
      for (let j = i + 1; j < r.length; j++) if (r[i]!.left < r[j]!.right - 0.5 && r[j]!.left < r[i]!.right - 0.5 && r[i]!.top < r[j]!.bottom - 0.5 && r[j]!.top < r[i]!.bottom - 0.5) overlaps++;
    return { n: r.length, overlaps };
  });
}

type LiveCands = { n: number; drawn: number; focused: number | null; showAll: boolean };
const liveCands = (p: Page) => p.evaluate(() => window.__pam.liveCands) as Promise<LiveCands>;

describe('many candidates', () => {
  it('live: 128 candidates — top 10 drawn with labels that never overlap, a scrolling list with readable indices, focus and show all', async () => {
    const page = await newPage(browser, errors);
    await page.goto(`${server.url}#/live&token=${tokens.adm}`);
    await waitHooks(page, "p.view === 'live'");
    const rng = new Rng(8);
    const cands = candidates(128, rng, true);
    server.publishLive({ cloud: makeCloud(ropeCloud(4000, rng), 'table'), task: 'rope-circle', episode: 0, step: 1, candidates: cands, chosen: 0, workspace: WORKSPACE, source: 'sim' });
    await waitHooks(page, 'p.liveCands && p.liveCands.n === 128', 20_000);
    await until(async () => (await labelBoxes(page)).n > 0, 15_000, 'the labels placed');
    await screenshot(page, 'live-128');
    expect(await liveCands(page)).toMatchObject({ n: 128, drawn: 10, focused: null, showAll: false });
    const top = await labelBoxes(page);
    expect(top.overlaps).toBe(0);
    expect(top.n).toBeGreaterThan(0);
    expect(top.n).toBeLessThanOrEqual(10);
    // The list: 128 rows that scroll inside the panel; "#128" and its score side by side, not on top of each other.
    const list = await page.evaluate(() => {
      const ol = document.querySelector<HTMLElement>('ol.cands')!;
      const row = [...ol.querySelectorAll('li')].find((li) => li.querySelector('.what')!.textContent === '#128')!;
      const w = row.querySelector('.what')!.getBoundingClientRect();
      const s = row.querySelector('.score')!.getBoundingClientRect();
      return { rows: ol.children.length, scrolls: ol.scrollHeight > ol.clientHeight, bottom: ol.getBoundingClientRect().bottom, vh: window.innerHeight, gap: s.left - w.right };
    });
    expect(list.rows).toBe(128);
    expect(list.scrolls).toBe(true);
    expect(list.bottom).toBeLessThanOrEqual(list.vh);
    expect(list.gap).toBeGreaterThanOrEqual(4);
    // Focus walks the candidates best first: the third best is drawn big, its row scrolled into view.
    for (let k = 0; k < 3; k++) await page.keyboard.press('ArrowRight');
    const order = cands.map((c, i) => ({ s: c.score!, i })).sort((a, b) => (a.i === 0 ? -1 : b.i === 0 ? 1 : b.s - a.s));
    expect((await liveCands(page)).focused).toBe(order[2]!.i);
    for (let k = 0; k < 20; k++) await page.keyboard.press('ArrowRight');
    const far = await liveCands(page);
    expect(far.focused).toBe(order[22]!.i);
    expect(far.drawn).toBe(11);
    expect(await page.locator('ol.cands li.focused .what').textContent()).toBe(`#${order[22]!.i + 1}`);
    expect(await page.locator('ol.cands li.focused').isVisible()).toBe(true);
    await until(async () => (await labelBoxes(page)).n > 0, 15_000, 'the labels placed');
    await screenshot(page, 'live-128-focus');
    expect((await labelBoxes(page)).overlaps).toBe(0);
    await page.keyboard.press('Escape');
    await page.keyboard.press('KeyV');
    await until(async () => (await labelBoxes(page)).n > 0, 15_000, 'the labels placed');
    expect(await liveCands(page)).toMatchObject({ drawn: 128, showAll: true });
    expect((await labelBoxes(page)).overlaps).toBe(0);
    await screenshot(page, 'live-128-all');
    await page.close();
  });

  it('rank: 32 candidates ranked by keyboard alone (↓ / ↑, Space, Shift+Space), distinct colours, a scrolling list', async () => {
    const page = await newPage(browser, errors);
    await page.goto(`${server.url}#/rank&token=${tokens.ann}`);
    await waitHooks(page, "p.view === 'rank' && p.ready && p.itemId !== null", 30_000);
    await waitHooks(page, 'p.guidelinesOpen === true', 15_000);
    await page.keyboard.press('Escape');
    const swatches = await page.locator('ol.cands .swatch').evaluateAll((els) => els.map((e) => (e as HTMLElement).style.background));
    expect(swatches).toHaveLength(32);
    expect(new Set(swatches).size).toBe(32);
    expect(await page.locator('ol.cands li kbd').nth(31).textContent()).toBe('32');
    await until(async () => (await labelBoxes(page)).n > 0, 15_000, 'the labels placed');
    expect((await labelBoxes(page)).overlaps).toBe(0);
    await screenshot(page, 'rank-32');
    // Candidate 32 first (↑ wraps to the last), then 1, 2 tied with 1, then 3 … 31 one after another.
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => window.__pam.rankFocus)).toBe(31);
    await page.keyboard.press('Space');
    // Space moved the focus to the next unplaced candidate: 1 (index 0).
    expect(await page.evaluate(() => window.__pam.rankFocus)).toBe(0);
    await page.keyboard.press('Space');
    await page.keyboard.press('Shift+Space');
    for (let k = 3; k <= 31; k++) await page.keyboard.press('Space');
    await page.waitForTimeout(200);
    await screenshot(page, 'rank-32-ranked');
    expect(await page.locator('ol.cands li.focused').count()).toBeLessThanOrEqual(1);
    const scrolls = await page.evaluate(() => {
      const ol = document.querySelector<HTMLElement>('ol.cands')!;
      return ol.scrollHeight > ol.clientHeight && ol.getBoundingClientRect().bottom <= window.innerHeight;
    });
    expect(scrolls).toBe(true);
    await page.keyboard.press('Enter');
    const row = await until(() => store.db.prepare("SELECT value FROM answers WHERE item_id = 'rank:many'").get() as { value: string } | undefined, 15_000, 'the ranking row');
    const expected = [[31], [0, 1], ...Array.from({ length: 29 }, (_, k) => [k + 2])];
    expect(JSON.parse(row.value).groups).toEqual(expected);
    await page.close();
    expect(errors).toEqual([]);
  });
});
