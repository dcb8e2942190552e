// `pamstack serve`: the web app (rank, compare, teleop, live) over HTTP + WebSocket, on a SQLite file or a
// PostgreSQL database (which several `serve` replicas may share).
import type { Command } from 'commander';
import { z } from 'zod';
import { TaskNameSchema } from '../../core/task.ts';
import type { World } from '../../core/world.ts';
import { startServer } from '../../server/server.ts';
import { maskUrl } from '../../store/db-target.ts';
import { DEFAULT_DB_PATH } from '../../store/store.ts';
import { openPreferenceStore } from '../../store/store-api.ts';
import { seedFromWorld } from '../../store/seed-from-world.ts';
import { readFileSync } from 'node:fs';
import { FieldError } from '../../core/errors.ts';
import { action, intFlag, parseFlags, printJson } from '../command-kit.ts';

/** A PEM file's bytes; a missing or non-PEM file is an error naming the flag. */
function readPem(path: string, flag: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new FieldError(flag, 'a readable PEM file', `${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!b.includes('-----BEGIN ')) throw new FieldError(flag, 'a PEM file (-----BEGIN …)', path);
  return b;
}

const Flags = z.strictObject({
  db: z.string().min(1).default(DEFAULT_DB_PATH),
  port: intFlag(0, 65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  task: TaskNameSchema.optional(),
  seed: intFlag(0).default(0),
  seedItems: intFlag(0, 1000).default(0),
  allowOrigin: z.array(z.string().url()).default([]),
  web: z.boolean().default(true),
  leaseS: intFlag(10, 86_400).default(600),
  goldEvery: intFlag(0, 1000).default(10),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  estopReset: z.enum(['latcher-or-admin', 'any-operator']).default('latcher-or-admin'),
  maxConnections: intFlag(1, 100_000).default(512),
  maxPerAddress: intFlag(1, 100_000).default(64),
  minWatch: z.union([z.literal('shorter-clip'), intFlag(0, 600_000)]).default('shorter-clip'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web app: annotators rank and compare, operators teleoperate, everyone watches live')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL (several serve processes may share one PostgreSQL database)', DEFAULT_DB_PATH)
    .option('--port <n>', 'TCP port (0: any free port)', '8080')
    .option('--host <addr>', 'interface to listen on (0.0.0.0 exposes it to the network)', '127.0.0.1')
    .option('--task <task>', 'attach a simulated world for teleop and the live view (e.g. rope-circle)')
    .option('--seed <n>', 'seed of the simulated world', '0')
    .option('--seed-items <n>', 'with --task: add n states to rank and n/2 clip pairs to compare, made in the sim', '0')
    .option('--allow-origin <url...>', 'extra origins allowed to open the WebSocket (e.g. a Vite dev server)')
    .option('--no-web', 'API only: do not build or serve the app')
    .option('--lease-s <n>', 'seconds an item stays reserved for the annotator it was given to', '600')
    .option('--gold-every <n>', 'every n-th item an annotator gets is a gold item (0: never)', '10')
    .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS and WSS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--estop-reset <who>', 'who may reset a latched e-stop: latcher-or-admin | any-operator', 'latcher-or-admin')
    .option('--max-connections <n>', 'open WebSocket connections at most', '512')
    .option('--max-per-address <n>', 'open WebSocket connections at most from one address', '64')
    .option('--min-watch <ms>', "least time a clip pair is watched before its answer counts: shorter-clip (one play of the shorter clip) or ms (0: off)", 'shorter-clip')
    .option('--json', 'print one JSON object { url, port, db } once listening')
    .addHelpText(
      'after',
      `
Create tokens first:  pamstack users add --role annotator --name alice
Then open the printed URL (the token goes after #token=). The app is built on first start
(or whenever src/web changed) into dist/web; npm run build:web does the same by hand.`,
    )
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        if (!!f.tlsCert !== !!f.tlsKey) throw new FieldError(f.tlsCert ? 'tls-key' : 'tls-cert', 'given together with the other (--tls-cert and --tls-key)', 'missing');
        const tls = f.tlsCert && f.tlsKey ? { cert: readPem(f.tlsCert, 'tls-cert'), key: readPem(f.tlsKey, 'tls-key') } : undefined;
        // Before the sim loads: a bad or unreachable --db is reported at once.
        const store = await openPreferenceStore(f.db, { leaseMs: f.leaseS * 1000, goldEvery: f.goldEvery, minWatch: f.minWatch });
        const db = maskUrl(f.db);
        const log = (l: string) => process.stderr.write(`pamstack serve: ${l}\n`);
        let world: (World & { dispose(): void }) | undefined;
        try {
          if (f.task) {
            const sim = await import('../../../sim/index.ts');
            world = await sim.createWorld(f.task);
            world.reset(f.seed);
          }
          if (world && f.seedItems > 0) {
            const r = await seedFromWorld(store, world, { states: f.seedItems, pairs: Math.ceil(f.seedItems / 2), seed: f.seed });
            log(`queued ${r.rank} states to rank and ${r.compare} pairs to compare from ${world.task}`);
            world.reset(f.seed);
          }
          const server = await startServer({
            port: f.port,
            host: f.host,
            store,
            world,
            allowedOrigins: f.allowOrigin,
            webRoot: f.web ? undefined : false,
            log,
            tls,
            estopReset: f.estopReset,
            access: { maxConnections: f.maxConnections, maxPerAddress: f.maxPerAddress },
          });
          if ((await store.listUsers()).length === 0) log('no users yet: pamstack users add --role annotator --name NAME');
          if (f.json) printJson({ url: server.url, port: server.port, db });
          else log(`listening on ${server.url}  (db ${db}${world ? `, world ${world.task}` : ''})`);
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          await server.close();
        } finally {
          // Also on a failed start: an open PostgreSQL pool would keep the process from exiting.
          await store.close();
          world?.dispose();
        }
      }),
    );
}
