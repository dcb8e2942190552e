// Browser-test helpers: Debian's Chromium through playwright-core (no browser download), screenshots under test-artifacts/.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.PAMSTACK_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web/', import.meta.url));

/** Launches headless Chromium with software WebGL (SwiftShader), which works without a GPU. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`browser tests need Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run does this)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--disable-dev-shm-usage'],
  });
}

/** A 1280×720 page that fails the test on any page error or console error. */
export async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path });
  return path;
}

/** Waits until `window.__pam` satisfies `pred` (evaluated in the page). */
export async function waitHooks(page: Page, pred: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(`(() => { const p = window.__pam; return !!p && (${pred}); })()`, null, { timeout });
}

/** Polls `f` (sync or async) until it returns a truthy value; given the page, the error names its recent toasts. */
export async function until<T>(
  f: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  what = 'condition',
  page?: Page,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) {
      const toasts = page ? ((await page.evaluate(() => window.__pam?.toasts).catch(() => [])) as string[] | undefined) ?? [] : [];
      throw new Error(`timed out waiting for ${what}${toasts.length ? ` (the page's toasts: ${toasts.map((t) => JSON.stringify(t)).join(', ')})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
