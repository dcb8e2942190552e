// In real Chromium against the main job (`pamstack demo` with its server): the live view receives motion
// frames while a primitive runs (object points and the gripper move), then the next decision's cloud.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/stack/demo.ts';
import { tempDir } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  browser = await launchBrowser();
  page = await newPage(browser, errors);
});

afterAll(async () => {
  await browser?.close();
  tmp?.cleanup();
});

type Live = { motionFrames: number; motionStamp: number; lastSeq: number; points: number };
const live = (p: Page) => p.evaluate(() => window.__pam.live) as Promise<Live>;
const tool = (p: Page) => p.evaluate(() => (window.__pam.motionTool as (i: number) => number[] | null)(0));

describe('live view of the main job', () => {
  it('animates the rope and the gripper during a primitive, then shows the next decision', async () => {
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    // Until stopped (episodes 0), the expert for speed, the motion at 4× real time (about 1 s per primitive).
    const demo = runDemo({
      task: 'rope-circle', policy: 'expert', overrides: { select: 'first' }, episodes: 0, seed: 3, headless: false, port: 0,
      host: '127.0.0.1', db: `${tmp.dir}/demo.db`, stepDelayMs: 300, motionSpeed: 4, log: (l) => lines.push(l), stop: stopped,
    });
    try {
      const link = await until(() => lines.map((l) => /web app: (\S+)/.exec(l)?.[1]).find(Boolean), 120_000, 'the web app link');
      await page.goto(link);
      await waitHooks(page, "p.view === 'live' && p.cloudCount() > 0", 60_000);
      // Motion frames arrive while the primitive plays; the gripper marker takes several positions.
      await waitHooks(page, 'p.live.motionFrames >= 3', 60_000);
      const seen = new Set<string>();
      const stamps = new Set<number>();
      await until(async () => {
        const t = await tool(page);
        if (t) seen.add(t.map((v) => v.toFixed(3)).join(','));
        stamps.add((await live(page)).motionStamp);
        return seen.size >= 3 && stamps.size >= 3;
      }, 30_000, 'the gripper at three positions');
      await screenshot(page, 'live-motion');
      const during = await live(page);
      // The primitive ends: the next cloud frame (post-step state or the next decision) replaces the motion.
      await until(async () => (await tool(page)) === null && (await live(page)).lastSeq > during.lastSeq, 30_000, 'the next cloud');
      const after = await live(page);
      expect(after.points).toBeGreaterThan(100);
      expect(after.motionFrames).toBeGreaterThanOrEqual(during.motionFrames);
      expect(await page.locator('.live-stats').getAttribute('data-motion-frames')).toMatch(/^\d+$/);
    } finally {
      stop();
    }
    const out = await demo;
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(errors).toEqual([]);
  });
});
