// In real Chromium: a disabled annotator's open page loses its socket (and cannot reconnect), and the
// e-stop pressed in the teleop view aborts the primitive the main job is running.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/server.ts';
import { runDemo } from '../../src/stack/demo.ts';
import { Store } from '../../src/store/store.ts';
import { addRankItems, tempDir } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let browser: Browser;
const errors: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  tmp?.cleanup();
});

describe('access and e-stop in the browser', () => {
  it('disabling a user closes their open page within a second; the page says refused', async () => {
    const store = new Store(`${tmp.dir}/access.db`, { goldEvery: 0 });
    const token = store.users.add('mallory', 'annotator').token;
    addRankItems(store, 2, { minAnnotations: 1 });
    const server = await startServer({ port: 0, store, log: () => {} });
    try {
      const page = await newPage(browser, errors);
      await page.goto(`${server.url}#/rank&token=${token}`);
      await waitHooks(page, "p.view === 'rank' && p.ready", 30_000);
      expect(await page.locator('header .conn').textContent()).toBe('online');
      const t0 = Date.now();
      store.users.setDisabled('mallory', true);
      await until(async () => (await page.locator('header .conn').textContent()) !== 'online', 5000, 'the socket to close');
      expect(Date.now() - t0).toBeLessThan(1500);
      await until(async () => (await page.locator('header .conn').textContent()) === 'refused', 10_000, 'the refused reconnect');
      await screenshot(page, 'access-disabled');
      await page.close();
    } finally {
      await server.close();
      store.close();
    }
  });

  it('Space in the teleop view aborts the running primitive of the main job', async () => {
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const demo = runDemo({
      task: 'rope-circle', policy: 'expert', overrides: { select: 'first' }, episodes: 0, seed: 3, headless: false, port: 0,
      host: '127.0.0.1', db: `${tmp.dir}/demo.db`, stepDelayMs: 0, motionSpeed: 1, log: (l) => lines.push(l), stop: stopped,
    });
    try {
      const link = await until(() => lines.map((l) => /web app: (\S+)/.exec(l)?.[1]).find(Boolean), 120_000, 'the web app link');
      const page = await newPage(browser, errors);
      await page.goto(link.replace('#/live', '#/teleop'));
      await waitHooks(page, "p.view === 'teleop'", 60_000);
      // A primitive is running when motion frames arrive.
      await waitHooks(page, 'p.live.motionFrames >= 3', 60_000);
      const executed = lines.filter((l) => /step \d+: executed/.test(l)).length;
      await page.keyboard.press('Space');
      const aborted = await until(() => lines.find((l) => /step \d+: ABORTED by the e-stop/.test(l)), 10_000, 'the aborted step');
      expect(aborted).toMatch(/the arm stopped where it was/);
      expect(lines.filter((l) => /step \d+: executed/.test(l)).length).toBe(executed);
      await until(async () => (await page.locator('.estop-banner').count()) > 0, 5000, 'the e-stop banner');
      await page.waitForTimeout(300);
      await screenshot(page, 'teleop-estop-aborted');
      await page.close();
    } finally {
      stop();
      await demo;
    }
    expect(errors).toEqual([]);
  });
});
