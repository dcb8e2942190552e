// In real Chromium: the task's goal (from the sim task definitions) is drawn in rank, compare, live and teleop,
// checked on the pixels of the viewer; an item without a goal says so; an admin edits the guidelines in the app.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { makeCompareItem, makeRankItem, makeSegment } from '../../src/store/items.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let browser: Browser;
const worlds: World[] = [];
const tokens: Record<string, string> = {};
const errors: string[] = [];

beforeAll(async () => {
  const sim = await import('../../sim/index.ts');
  const rope = await sim.createWorld('rope-circle');
  const gran = await sim.createWorld('granular-t');
  const cloth = await sim.createWorld('cloth-unfold');
  worlds.push(rope, gran, cloth);
  rope.reset(5);
  gran.reset(5);
  cloth.reset(5);
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  tokens.ann = store.users.add('ann', 'annotator').token;
  tokens.adm = store.users.add('adm', 'admin').token;
  const rng = new Rng(4);
  const cands = (w: World) => {
    const ps = w.expertActions(4, rng);
    while (ps.length < 3) ps.push(ps[0]!);
    return ps.map((primitive) => ({ primitive }));
  };
  // First in the queue: a rope state with its goal; then one without (an old item), as the control.
  store.addItem(makeRankItem({ stateId: 'goal-rope', task: 'rope-circle', primitive: 'pick_place', cloud: rope.observe(), candidates: cands(rope), workspace: rope.workspace, goal: rope.taskGoal!() }), { minAnnotations: 1, priority: 2 });
  store.addItem(makeRankItem({ stateId: 'no-goal', task: 'rope-circle', primitive: 'pick_place', cloud: rope.observe(), candidates: cands(rope), workspace: rope.workspace }), { minAnnotations: 1, priority: 1 });
  const seg = (id: string) => makeSegment({ id, task: 'granular-t', frames: [0, 0.5, 1].map((t) => ({ t, cloud: gran.observe({ seed: Math.round(t * 10) }) })) });
  store.addItem(makeCompareItem({ left: seg('g-a'), right: seg('g-b'), workspace: gran.workspace, goal: gran.taskGoal!() }), { minAnnotations: 1 });
  // The world operators see: the cloth, whose goal is the flat area.
  server = await startServer({ port: 0, store, world: cloth, log: () => {} });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  for (const w of worlds) w.dispose();
  tmp?.cleanup();
});

/** Pixels of the goal's magenta in the viewer's canvas (the caption strip at the bottom left excluded). */
async function goalPixels(page: Page, half?: 'left' | 'right'): Promise<number> {
  const box = (await page.locator('.viewer canvas').first().boundingBox())!;
  const w = half ? box.width / 2 : box.width;
  const clip = { x: box.x + (half === 'right' ? box.width / 2 : 0), y: box.y, width: w, height: box.height - 40 };
  const png = await page.screenshot({ clip });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = new OffscreenCanvas(img.width, img.height);
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, img.width, img.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i]! > 170 && d[i + 1]! < 110 && d[i + 2]! > 150) n++;
    return n;
  }, png.toString('base64'));
}

async function signIn(token: string, view: string): Promise<Page> {
  const page = await newPage(browser, errors);
  await page.goto(`${server.url}#/${view}&token=${token}`);
  await waitHooks(page, `p.view === '${view}' && p.ready`, 60_000);
  return page;
}

async function dismissGuidelines(page: Page): Promise<void> {
  await waitHooks(page, 'p.guidelinesOpen === true', 15_000);
  await page.keyboard.press('Escape');
  await waitHooks(page, 'p.guidelinesOpen === false');
}

describe('the goal in every view', () => {
  it('rank: the rope target curve is drawn and captioned; an item without a goal draws none and says so', async () => {
    const page = await signIn(tokens.ann!, 'rank');
    await waitHooks(page, "p.goal === 'curve'", 30_000);
    await dismissGuidelines(page);
    await page.waitForTimeout(300);
    await screenshot(page, 'goal-rank-rope');
    expect(await page.locator('.goal-caption').textContent()).toBe('Goal: lay the rope in a circle shape (anywhere on the table, any rotation)');
    const withGoal = await goalPixels(page);
    expect(withGoal).toBeGreaterThan(300);
    await page.keyboard.press('KeyS'); // skip: the next item has no goal
    await waitHooks(page, 'p.goal === null && p.ready', 30_000);
    await page.waitForTimeout(300);
    expect(await goalPixels(page)).toBeLessThan(withGoal / 20);
    expect(await page.locator('.goal-caption').textContent()).toBe('Goal: not recorded for this item');
    await page.close();
  });

  it('compare: the granular T region in both clips', async () => {
    const page = await signIn(tokens.ann!, 'compare');
    await waitHooks(page, "p.goal === 'region'", 30_000);
    await dismissGuidelines(page);
    await page.keyboard.press('Space'); // pause, so the screenshot is of one frame
    await page.waitForTimeout(300);
    await screenshot(page, 'goal-compare-granular');
    expect(await goalPixels(page, 'left')).toBeGreaterThan(300);
    expect(await goalPixels(page, 'right')).toBeGreaterThan(300);
    expect(await page.locator('.goal-caption').textContent()).toMatch(/T region/);
    await page.close();
  });

  it('live and teleop: the cloth flat area from the attached world', async () => {
    const page = await signIn(tokens.adm!, 'live');
    await waitHooks(page, "p.goal === 'area'", 30_000);
    await page.waitForTimeout(300);
    await screenshot(page, 'goal-live-cloth');
    expect(await goalPixels(page)).toBeGreaterThan(300);
    expect(await page.locator('.goal-caption').textContent()).toMatch(/spread the cloth flat/);
    await page.goto(`${server.url}#/teleop`);
    await waitHooks(page, "p.view === 'teleop' && p.goal === 'area'", 30_000);
    await page.waitForTimeout(300);
    await screenshot(page, 'goal-teleop-cloth');
    expect(await goalPixels(page)).toBeGreaterThan(300);
    await page.close();
  });
});

describe('guidelines', () => {
  it('an admin edits the guidelines in the app; annotators get the edit (shown again once)', async () => {
    const page = await signIn(tokens.adm!, 'rank');
    await dismissGuidelines(page);
    await page.keyboard.press('Shift+Slash');
    await page.locator('.help button.edit-guidelines').click();
    const area = page.locator('.help textarea.guidelines-editor');
    await area.fill('# Rope, edited\n\n- **Closer to the circle** is better.\n- <script>alert(1)</script> stays text.');
    await page.locator('.help button.primary').click();
    await until(() => store.guidelines('rope')?.updatedBy === 'adm', 10_000, 'the stored edit');
    await until(async () => (await page.locator('.help .md h3').textContent()) === 'Rope, edited', 10_000, 'the edited guidelines');
    expect(await page.locator('.help .md li').nth(1).textContent()).toBe('<script>alert(1)</script> stays text.');
    await screenshot(page, 'guidelines-edit');
    await page.close();
    const ann = await signIn(tokens.ann!, 'rank');
    await waitHooks(ann, 'p.guidelinesOpen === true', 15_000);
    expect(await ann.locator('.guidelines-dialog .md h3').textContent()).toBe('Rope, edited');
    expect(await ann.locator('.guidelines-dialog .dim').textContent()).toMatch(/edited by adm/);
    await ann.close();
    expect(errors).toEqual([]);
  });
});
