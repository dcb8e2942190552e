// In real Chromium against the real simulated world: an operator picks two points on the cloud and the sim runs that
// primitive; STOP latches; an annotator's token is refused for teleop.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { World } from '../../src/core/world.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { addRankItems, tempDir } from '../server/_helpers.ts';
import { launchBrowser, newPage, screenshot, until, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
let world: World;
let browser: Browser;
let page: Page;
const tokens: Record<string, string> = {};
const errors: string[] = [];

beforeAll(async () => {
  const sim = await import('../../sim/index.ts');
  world = await sim.createWorld('rope-circle');
  world.reset(11);
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'));
  tokens.op = store.users.add('olga', 'operator').token;
  tokens.ann = store.users.add('alice', 'annotator').token;
  addRankItems(store, 2);
  server = await startServer({ port: 0, store, world, log: () => {} });
  browser = await launchBrowser();
  page = await newPage(browser, errors);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  world?.dispose();
  tmp?.cleanup();
});

type TeleopHook = {
  a: number[] | null;
  b: number[] | null;
  verdict: { ok: boolean; reason: string | null } | null;
  confirming: boolean;
  state: { estop: boolean; busy: boolean } | null;
  lastResult: { op?: string; error?: string } | null;
};
const teleop = (p: Page) => p.evaluate(() => (window.__pam.teleop as () => unknown)()) as Promise<TeleopHook>;

/** Clicks where the app draws cloud point i. */
async function clickCloudPoint(p: Page, i: number): Promise<number[]> {
  const canvas = (await p.locator('canvas').boundingBox())!;
  const { q, s } = (await p.evaluate((i) => {
    const h = window.__pam as unknown as { cloudPoint(i: number): number[]; project(x: number, y: number, z: number): { x: number; y: number } };
    const q = h.cloudPoint(i);
    return { q, s: h.project(q[0]!, q[1]!, q[2]!) };
  }, i)) as { q: number[]; s: { x: number; y: number } };
  await p.mouse.click(canvas.x + s.x, canvas.y + s.y);
  return q;
}

describe('operator teleop in the browser', () => {
  it('picks two points on the live cloud, confirms, and the sim executes that primitive', async () => {
    await page.goto(`${server.url}#token=${tokens.op}`);
    await waitHooks(page, "p.view === 'teleop' && p.cloudCount && p.cloudCount() > 0");
    expect(await page.locator('header nav a').allTextContents()).toEqual(['Teleop', 'Live']);
    const n = (await page.evaluate(() => (window.__pam.cloudCount as () => number)())) as number;
    const before = world.observe({ seed: 1 }).points.slice();
    const pick = await clickCloudPoint(page, 15);
    const place = await clickCloudPoint(page, Math.floor(n * 0.55));
    await until(async () => (await teleop(page)).verdict?.ok === true, 15_000, 'a feasible verdict');
    const t = await teleop(page);
    // The picked points are the cloud's own points (raycast on the points, not a plane).
    t.a!.forEach((v, k) => expect(v).toBeCloseTo(pick[k]!, 4));
    t.b!.forEach((v, k) => expect(v).toBeCloseTo(place[k]!, 4));
    await page.keyboard.press('KeyG'); // the gizmo on the active point, to refine it
    await page.waitForTimeout(300);
    await screenshot(page, 'teleop-gizmo');
    await page.keyboard.press('KeyG');
    await page.keyboard.press('Enter');
    await until(async () => (await teleop(page)).confirming, 10_000, 'the confirmation');
    await screenshot(page, 'teleop');
    await page.keyboard.press('Enter');
    await until(async () => (await teleop(page)).lastResult, 60_000, 'the execution');
    expect((await teleop(page)).lastResult).toMatchObject({ op: 'teleop.result' });
    const row = store.db.prepare("SELECT status, primitive FROM teleop WHERE status = 'executed'").get() as { status: string; primitive: string };
    const executed = JSON.parse(row.primitive);
    expect(executed.kind).toBe('pick_place');
    executed.a.forEach((v: number, k: number) => expect(v).toBeCloseTo(pick[k]!, 4));
    executed.b.forEach((v: number, k: number) => expect(v).toBeCloseTo(place[k]!, 4));
    // The rope moved in the simulator.
    const after = world.observe({ seed: 1 }).points;
    let moved = 0;
    for (let i = 0; i < Math.min(before.length, after.length); i++) moved = Math.max(moved, Math.abs(before[i]! - after[i]!));
    expect(moved).toBeGreaterThan(0.005);
    await page.waitForTimeout(500);
    await screenshot(page, 'teleop-executed');
  });

  it('STOP (Space) latches the e-stop: nothing runs until a reset', async () => {
    await page.keyboard.press('Space');
    await until(async () => (await teleop(page)).state?.estop, 10_000, 'the latch');
    expect(server.teleop.estopped).toBe(true);
    await page.locator('.estop-banner').waitFor({ state: 'visible', timeout: 5_000 }); // throws when the banner never shows
    const n = (await page.evaluate(() => (window.__pam.cloudCount as () => number)())) as number;
    await clickCloudPoint(page, 5);
    await clickCloudPoint(page, Math.floor(n / 2));
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    expect((await teleop(page)).confirming).toBe(false);
    await screenshot(page, 'teleop-estop');
    expect(store.db.prepare("SELECT count(*) AS n FROM teleop").get()).toEqual({ n: 1 });
    await page.locator('button.reset').click();
    await until(async () => (await teleop(page)).state?.estop === false, 10_000, 'the reset');
    expect(server.teleop.estopped).toBe(false);
  });

  it("refuses an annotator's token for teleop: no view, and the server answers forbidden", async () => {
    const ann = await newPage(browser, errors);
    await ann.goto(`${server.url}#/teleop&token=${tokens.ann}`);
    await waitHooks(ann, "p.view === 'rank' && p.ready");
    expect(await ann.locator('header nav a').allTextContents()).not.toContain('Teleop');
    // Even speaking the protocol directly from the page, the command is refused.
    const reply = await ann.evaluate(async (token) => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      const msgs: unknown[] = [];
      await new Promise((r) => (ws.onopen = r));
      const got = new Promise<void>((resolve) => {
        ws.onmessage = (e) => {
          msgs.push(JSON.parse(e.data as string));
          if (msgs.length === 2) resolve();
        };
      });
      ws.send(JSON.stringify({ op: 'auth', id: 1, token }));
      ws.send(JSON.stringify({ op: 'teleop.execute', id: 2, clientId: 'sneaky-annotator-1', primitive: { kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] } }));
      await got;
      ws.close();
      return msgs[1];
    }, tokens.ann!);
    expect(reply).toMatchObject({ op: 'error', id: 2, code: 'forbidden', field: 'op' });
    expect(store.db.prepare("SELECT count(*) AS n FROM teleop").get()).toEqual({ n: 1 });
    await ann.close();
    expect(errors).toEqual([]);
  });
});
