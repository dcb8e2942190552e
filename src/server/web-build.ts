// Builds the browser app on demand with Vite's JS API when dist/web is missing or older than its sources.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the built app lives (gitignored). */
export const WEB_DIST = join(ROOT, 'dist', 'web');
const CONFIG = join(ROOT, 'src', 'web', 'vite.config.ts');
const HASH_FILE = '.source-hash';
/** What the bundle is made from: the app, the core schemas it imports, and the lockfile (three, zod versions). */
const SOURCES = [join(ROOT, 'src', 'web'), join(ROOT, 'src', 'core'), join(ROOT, 'package-lock.json')];

function listFiles(p: string, out: string[] = []): string[] {
  if (!existsSync(p)) return out;
  const st = statSync(p);
  if (st.isFile()) out.push(p);
  else if (st.isDirectory()) for (const e of readdirSync(p).sort()) listFiles(join(p, e), out);
  return out;
}

/** SHA-256 over the app's source files (names and contents): the build is stale when it changes. */
export function webSourceHash(): string {
  const h = createHash('sha256');
  for (const f of SOURCES.flatMap((s) => listFiles(s))) {
    h.update(relative(ROOT, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/** True when dist/web holds a build of the current sources. */
export function webBuildIsFresh(hash = webSourceHash()): boolean {
  try {
    return readFileSync(join(WEB_DIST, HASH_FILE), 'utf8').trim() === hash && existsSync(join(WEB_DIST, 'index.html'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Returns the directory of an up-to-date build, building it first when needed. Processes that
 * start at once (tests in parallel) take turns through a lock file; the build is written beside
 * dist/web and renamed into place, so a reader never sees half a build.
 */
export async function ensureWebBuild(opts: { log?: (line: string) => void; force?: boolean } = {}): Promise<string> {
  const hash = webSourceHash();
  if (!opts.force && webBuildIsFresh(hash)) return WEB_DIST;
  const distRoot = join(ROOT, 'dist');
  mkdirSync(distRoot, { recursive: true });
  const lock = join(distRoot, '.web-build.lock');
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      // Another process is building; a lock older than 5 minutes belongs to a dead builder.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { force: true });
      } catch {
        /* gone meanwhile */
      }
      await sleep(250);
      if (!opts.force && webBuildIsFresh(hash)) return WEB_DIST;
    }
  }
  try {
    if (!opts.force && webBuildIsFresh(hash)) return WEB_DIST;
    const t0 = Date.now();
    opts.log?.('building the web app (dist/web is missing or stale)…');
    let vite: typeof import('vite');
    try {
      vite = await import('vite');
    } catch {
      throw new Error('the web app is not built and vite is not installed: run `npm ci` (with dev dependencies) or `npm run build:web`');
    }
    const tmp = join(distRoot, `web.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    await vite.build({ configFile: CONFIG, logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
    writeFileSync(join(tmp, HASH_FILE), `${hash}\n`); // the config's plugin writes it too; this one is the hash checked above
    rmSync(WEB_DIST, { recursive: true, force: true });
    renameSync(tmp, WEB_DIST);
    opts.log?.(`web app built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return WEB_DIST;
  } finally {
    rmSync(lock, { force: true });
  }
}
