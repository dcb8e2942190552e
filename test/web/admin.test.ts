// In real Chromium: the admin view shows the queue and per-annotator figures, equal to `pamstack store stats --json`.
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type PamServer } from '../../src/server/server.ts';
import type { AgreementStats } from '../../src/store/stats.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';
import { runCli } from '../stack/run-cli.ts';
import { launchBrowser, newPage, screenshot, waitHooks } from './_browser.ts';

let tmp: ReturnType<typeof tempDir>;
let db: string;
let store: Store;
let server: PamServer;
let browser: Browser;
let admin: string;
const errors: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  db = join(tmp.dir, 'db.sqlite');
  store = new Store(db, { goldEvery: 0, minWatch: 0 });
  admin = store.users.add('boss', 'admin').token;
  const alice = store.users.add('alice', 'annotator').user;
  const bob = store.users.add('bob', 'annotator').user;
  const r = addRankItems(store, 3, { minAnnotations: 3 });
  const c = addCompareItems(store, 2, { minAnnotations: 3 });
  let k = 0;
  const cid = () => `admin-view-${(++k).toString().padStart(4, '0')}`;
  const rank = (groups: number[][]) => ({ kind: 'rank' as const, groups, notComparable: [], idealBeatsAll: false });
  store.submit(alice, { clientId: cid(), itemId: r[0]!, answer: rank([[0], [1], [2]]), durationMs: 4000 });
  store.submit(bob, { clientId: cid(), itemId: r[0]!, answer: rank([[0], [2], [1]]), durationMs: 6000 });
  store.submit(alice, { clientId: cid(), itemId: r[1]!, answer: rank([[3]]), durationMs: 2000 });
  store.submit(alice, { clientId: cid(), itemId: c[0]!, answer: { kind: 'compare', label: 'left', flag: { reason: 'unclear', comment: 'same clip twice?' } }, durationMs: 3000 });
  store.submit(bob, { clientId: cid(), itemId: c[0]!, answer: { kind: 'compare', label: 'right' }, durationMs: 2500 });
  store.skip(bob, cid(), r[2]!);
  // A reviewer settled the clip pair; the ranking of r[0] is still to settle.
  store.settle(store.users.add('rita', 'reviewer').user, c[0]!, { kind: 'compare', label: 'right' });
  server = await startServer({ port: 0, store, log: () => {} });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  tmp?.cleanup();
});

describe('admin view', () => {
  it('shows the figures of `pamstack store stats`', async () => {
    const cli = await runCli(['store', 'stats', '--db', db, '--json']);
    expect(cli.code).toBe(0);
    const st = JSON.parse(cli.out.trim().split('\n').at(-1)!) as AgreementStats;
    expect(st.queue).toMatchObject({ open: 5, gold: 0, flagged: 1 });
    expect(st.review).toEqual({ disagreements: 2, settled: 1, open: 1 });
    const page = await newPage(browser, errors);
    await page.goto(`${server.url}#/admin&token=${admin}`);
    await waitHooks(page, "p.view === 'admin' && p.ready", 30_000);
    await screenshot(page, 'admin');
    const text = async (sel: string) => (await page.locator(sel).first().textContent())?.trim();
    expect(await text('.queue-stats [data-k="open"] b')).toBe(String(st.queue.open));
    expect(await text('.queue-stats [data-k="flagged"] b')).toBe(String(st.queue.flagged));
    expect(await text('.queue-stats [data-k="agreement"] b')).toBe(st.meanItemAgreement!.toFixed(3));
    expect(await text('.queue-stats [data-k="alpha"] b')).toBe(st.rankAlpha!.toFixed(3));
    expect(await text('.queue-stats [data-k="to-settle"] b')).toBe(String(st.review.open));
    expect(await text('.queue-stats [data-k="settled"] b')).toBe(String(st.review.settled));
    for (const a of st.annotators) {
      const row = `table.annotators tr[data-annotator="${a.annotator}"]`;
      expect(await text(`${row} [data-k="submitted"]`)).toBe(String(a.submitted));
      expect(await text(`${row} [data-k="skipped"]`)).toBe(String(a.skipped));
      expect(await text(`${row} [data-k="median"]`)).toBe((a.medianDurationMs! / 1000).toFixed(1));
      expect(await text(`${row} [data-k="agreement"]`)).toBe(a.agreement === null ? '—' : a.agreement.toFixed(3));
      expect(await text(`${row} [data-k="alpha"]`)).toBe(a.rankAlpha === null ? '—' : a.rankAlpha.toFixed(3));
      const today = new Date().toISOString().slice(0, 10);
      expect(await text(`${row} [data-k="today"]`)).toBe(String(a.perDay[today] ?? 0));
    }
    expect(st.annotators.find((a) => a.annotator === 'alice')).toMatchObject({ submitted: 3, medianDurationMs: 3000 });
    // The admin view is in the admin's navigation (annotators and operators do not have it).
    expect(st.annotators.find((a) => a.annotator === 'alice')!.rankAlpha).not.toBeNull();
    expect(await page.locator('header nav a').allTextContents()).toEqual(['Rank', 'Compare', 'Teleop', 'Live', 'Review', 'Admin']);
    await page.close();
    expect(errors).toEqual([]);
  });
});
