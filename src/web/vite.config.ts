// Vite config of the browser app: `npm run build:web` (or the server, on demand) builds src/web into dist/web.
import { writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { webSourceHash } from '../server/web-build.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Stamps the build with the hash of its sources, so the server knows it is current (see web-build.ts). */
function sourceHash(): Plugin {
  let outDir = '';
  return {
    name: 'pamstack-source-hash',
    apply: 'build',
    configResolved(c) {
      outDir = isAbsolute(c.build.outDir) ? c.build.outDir : join(c.root, c.build.outDir);
    },
    closeBundle() {
      writeFileSync(join(outDir, '.source-hash'), `${webSourceHash()}\n`);
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  plugins: [sourceHash()],
  build: {
    outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      // zod's sources carry comments Rollup cannot place; harmless, and noisy on every build.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
  // `npx vite --config src/web/vite.config.ts` for UI work with hot reload, next to `pamstack serve` on :8080.
  server: { host: '127.0.0.1', proxy: { '/ws': { target: 'ws://127.0.0.1:8080', ws: true } } },
});
