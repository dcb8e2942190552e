// `startServer`: the HTTP + WebSocket server of the web app, embeddable in the main job or run by `pamstack serve`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CLIENT_FRAME_BYTES, type MotionFrameData, type TeleopState } from '../core/protocol.ts';
import type { World } from '../core/world.ts';
import type { PreferenceStore } from '../store/preference-store.ts';
import { openPreferenceStore, SqlitePreferenceStore } from '../store/store-api.ts';
import { StoreError } from '../store/store-error.ts';
import { DEFAULT_DB_PATH, Store, type StoreOptions } from '../store/store.ts';
import { AccessGuard, CLOSE, remoteAddress, type AccessOptions } from './access.ts';
import { handleItemPush } from './item-push.ts';
import { LiveHub, type LiveFrame, type LiveStats } from './live-hub.ts';
import { Session } from './session.ts';
import { SECURITY_HEADERS, serveStatic } from './static-files.ts';
import { TeleopController, type EstopResetPolicy, type TeleopHandler, type TeleopResult } from './teleop.ts';
import { ensureWebBuild } from './web-build.ts';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /**
   * The store when `store` is not given: a SQLite file or a postgres:// URL (several servers may share
   * one PostgreSQL database). @default 'data/pamstack.db'
   */
  dbPath?: string;
  /**
   * An open store to use (the caller keeps ownership and closes it): either engine, or a SQLite Store,
   * which the server wraps once (its answers then share group commits).
   */
  store?: PreferenceStore | Store;
  /** Store options when the server opens the store itself. */
  storeOptions?: Omit<StoreOptions, 'synchronous'>;
  /** The world operators teleoperate (sim, or a robot behind the World seam). */
  world?: World;
  /** Executes teleop primitives instead of `world.execute` (the main job queues them into its loop). */
  onTeleop?: TeleopHandler;
  /** Told when an operator latches (true) or resets (false) the e-stop. */
  onEstop?: (engaged: boolean, by: string) => void;
  /**
   * Publish `world.observe()` on the live view at start and after each teleop primitive. Leave off
   * when the embedding publishes its own frames. @default true when `world` is given without `onTeleop`
   */
  liveFromWorld?: boolean;
  /** Origins allowed to open the WebSocket besides the server's own (e.g. a Vite dev server). */
  allowedOrigins?: string[];
  /** Directory of the built app; false serves no app (API only). @default built on demand into dist/web */
  webRoot?: string | false;
  /** Unsent bytes per live client before frames are dropped (latest wins). @default 4 MiB */
  liveBudgetBytes?: number;
  /** Log lines (start-up, internal errors). @default stderr */
  log?: (line: string) => void;
  /** Connection caps, the auth deadline and failed-auth limits (see AccessGuard for defaults). */
  access?: AccessOptions;
  /** Who may reset a latched e-stop. @default 'latcher-or-admin' */
  estopReset?: EstopResetPolicy;
  /** PEM certificate chain and key: serve HTTPS and WSS instead of HTTP and WS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * How often open sessions are checked against the users table (disabled users, replaced tokens), ms.
   * On PostgreSQL a change made by any process is also pushed at once (LISTEN/NOTIFY), so this is only
   * the fallback. @default 500 on SQLite, 10_000 on PostgreSQL
   */
  revalidateMs?: number;
}

export interface PamServer {
  /** http://host:port/ (https:// with `tls`) */
  readonly url: string;
  readonly port: number;
  readonly store: PreferenceStore;
  /** Sends a frame to every live-view client; returns its sequence number. Cheap when nobody watches. */
  publishLive(frame: LiveFrame): number;
  /**
   * Sends a motion frame (object points and tools during a primitive) to live-view clients that can
   * take it now; it never displaces a pending cloud frame. Returns its sequence number.
   */
  publishMotion(frame: Omit<MotionFrameData, 'seq' | 'sentAt'>): number;
  /** Whether any client subscribes to the live view now. */
  liveWatched(): boolean;
  /** Counters of the live fan-out (frames published, sent, dropped for slow clients, bytes held). */
  liveStats(): LiveStats;
  readonly teleop: { readonly estopped: boolean; state(): TeleopState; setEstop(engaged: boolean, by: string): void };
  /** Number of open WebSocket connections. */
  connections(): number;
  close(): Promise<void>;
}

/** Whether an upgrade's Origin may connect: none (not a browser), the server's own host, or an allowed one. */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Starts the server; resolves once it listens. */
export async function startServer(opts: ServerOptions = {}): Promise<PamServer> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`pamstack serve: ${l}\n`));
  // A store the server opened or wrapped is closed with it; a PreferenceStore passed in stays the caller's.
  const closeStore = !opts.store || opts.store instanceof Store;
  const store: PreferenceStore =
    opts.store instanceof Store
      ? new SqlitePreferenceStore(opts.store, { ownsStore: false })
      : (opts.store ?? (await openPreferenceStore(opts.dbPath ?? DEFAULT_DB_PATH, opts.storeOptions)));
  const webRoot = opts.webRoot === false ? null : (opts.webRoot ?? (await ensureWebBuild({ log })));
  const live = new LiveHub({ budgetBytes: opts.liveBudgetBytes });
  const sessions = new Set<Session>();
  const world = opts.world;
  const liveFromWorld = opts.liveFromWorld ?? (!!world && !opts.onTeleop);

  const publishWorld = (extra: Partial<LiveFrame> = {}) => {
    if (!world) return;
    live.publish({ cloud: world.observe(), task: world.task, primitive: world.primitive, workspace: world.workspace, goal: world.taskGoal?.(), metrics: world.metrics(), source: 'sim', ...extra });
  };

  const access = new AccessGuard(opts.access);
  const pushContext = { store, access, log };
  const teleop = new TeleopController({
    world,
    onTeleop: opts.onTeleop,
    estopReset: opts.estopReset,
    onEstop: (engaged, by, role) => {
      // The latch acts at once; its log line must not wait for (or fail with) the database.
      store
        .logEstop({ user: by, role: role ?? null, action: engaged ? 'latch' : 'reset', latchedBy: engaged ? by : null })
        .catch((e) => log(`e-stop log not stored: ${(e as Error).message}`));
      log(`e-stop ${engaged ? 'latched' : 'reset'} by ${by}${role ? ` (${role})` : ''}`);
      opts.onEstop?.(engaged, by);
    },
    afterExecute: (p, r: TeleopResult) => {
      if (liveFromWorld) publishWorld({ action: p, metrics: r.metrics, source: 'teleop' });
    },
    onState: (s) => {
      for (const x of sessions) if (x.user && x.user.role !== 'annotator') x.send(s);
    },
  });

  const http = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => handleHttp(req, res))
    : createServer((req, res) => handleHttp(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
  const allowed = opts.allowedOrigins ?? [];

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== '/ws') return refuse('404 Not Found');
    if (!originAllowed(req, allowed)) {
      log(`refused WebSocket from origin ${req.headers.origin}`);
      return refuse('403 Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const addr = remoteAddress(req);
    const refused = access.admit(addr);
    if (refused) {
      log(`refused a connection from ${addr}: ${refused}`);
      ws.close(CLOSE.tryLater, refused.slice(0, 120));
      return;
    }
    ws.once('close', () => access.release(addr));
    const s = new Session(ws, addr, { store, live, teleop, access, log }, req.headers['user-agent'] ?? '');
    sessions.add(s);
    (ws as WebSocket & { isAlive?: boolean }).isAlive = true;
    ws.on('pong', () => ((ws as WebSocket & { isAlive?: boolean }).isAlive = true));
    ws.on('close', () => sessions.delete(s));
    ws.on('error', () => sessions.delete(s));
  });

  // Drop connections that stop answering pings (a sleeping laptop holds leases and live slots).
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      const w = ws as WebSocket & { isAlive?: boolean };
      if (w.isAlive === false) {
        w.terminate();
        continue;
      }
      w.isAlive = false;
      w.ping();
    }
  }, 30_000);
  heartbeat.unref();

  // Sessions of disabled users or replaced tokens close within a second, whichever process changed them:
  // SQLite is polled; PostgreSQL tells every replica at once (NOTIFY) and is polled slowly as a fallback.
  const recheck = revalidator(store, sessions, log);
  const revalidate = setInterval(() => {
    if (sessions.size > 0) recheck('all');
  }, opts.revalidateMs ?? (store.engine === 'postgres' ? 10_000 : 500));
  revalidate.unref();
  const unwatchUsers = await store.watchUsers((userId) => recheck(userId === null ? 'all' : userId), log);

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    routeHttp(req, res).catch((e) => {
      const unavailable = e instanceof StoreError && e.code === 'unavailable';
      if (!unavailable) log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (res.headersSent) return void res.destroy();
      res.writeHead(unavailable ? 503 : 500, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(unavailable ? `${e.message}\n` : 'internal error (logged on the server)\n');
    });
  }

  async function routeHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      // Details (load, e-stop) only for an admin token: unauthenticated probes learn that it is up.
      const user = await bearerUser(req);
      if (!user || user.role !== 'admin') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
        res.end('ok\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', ...SECURITY_HEADERS });
      res.end(JSON.stringify({ ok: true, connections: sessions.size, live: live.stats(), estop: teleop.estopped }));
      return;
    }
    if (path === '/api/export') return exportHttp(req, res);
    if (path === '/api/items') return void handleItemPush(req, res, pushContext);
    if (webRoot && serveStatic(webRoot, req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end(webRoot ? 'not found\n' : 'this server runs without the web app (API only)\n');
  }

  /** The user of an `Authorization: Bearer` header; refused tokens count against the address as on the socket. */
  async function bearerUser(req: IncomingMessage) {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return null;
    const addr = remoteAddress(req);
    if (access.authBlocked(addr)) return null;
    const user = await store.authenticate(m[1]!);
    if (!user) access.authFailed(addr);
    return user;
  }

  /** GET /api/export[?originals=1] with `Authorization: Bearer <admin token>`: the preference records as JSONL. */
  async function exportHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = await bearerUser(req);
    if (!user || user.role !== 'admin') {
      res.writeHead(user ? 403 : 401, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(user ? 'export needs the admin role\n' : 'send Authorization: Bearer <admin token>\n');
      return;
    }
    // ?originals=1 adds the annotators' answers to settled items (marked), as `store export --originals`.
    const originals = new URL(req.url ?? '/', 'http://localhost').searchParams.get('originals') === '1';
    const records = await store.exportRecords({ originals });
    res.writeHead(200, { 'content-type': 'application/x-ndjson', ...SECURITY_HEADERS });
    for (const rec of records) res.write(`${JSON.stringify(rec)}\n`);
    res.end();
  }

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    // E.g. the port is taken: let go of what was opened, so the process can exit with the error.
    clearInterval(heartbeat);
    clearInterval(revalidate);
    await unwatchUsers?.();
    if (closeStore) await store.close();
    throw e;
  }
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${opts.tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}/`;
  if (liveFromWorld) publishWorld();

  let closed = false;
  return {
    url,
    port: addr.port,
    store,
    publishLive: (f) => live.publish(f),
    publishMotion: (f) => live.publishMotion(f),
    liveWatched: () => live.watched,
    liveStats: () => live.stats(),
    teleop: {
      get estopped() {
        return teleop.estopped;
      },
      state: () => teleop.state(),
      setEstop: (engaged, by) => teleop.setEstop(engaged, by),
    },
    connections: () => sessions.size,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(revalidate);
      await unwatchUsers?.();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      // Answers still waiting for their group commit are committed by close (SQLite), and so kept.
      if (closeStore) await store.close();
    },
  };
}

/**
 * Checks open sessions against the enabled users' token hashes: `'all'`, or the sessions of one user
 * (a notification). Requests made while a check runs are merged into one more check after it.
 */
function revalidator(store: PreferenceStore, sessions: ReadonlySet<Session>, log: (line: string) => void): (who: number | 'all') => void {
  let running = false;
  let queued: Set<number> | 'all' | null = null;
  let failing = false;
  const run = async () => {
    running = true;
    while (queued) {
      const who = queued;
      queued = null;
      try {
        const active = await store.activeTokenHashes();
        failing = false;
        for (const s of sessions) if (who === 'all' || (s.user && who.has(s.user.id))) s.revalidate(active);
      } catch (e) {
        // The database is away (a restart): the next poll or notification tries again; say so once.
        if (!failing) log(`cannot check sessions against the users table: ${(e as Error).message}`);
        failing = true;
      }
    }
    running = false;
  };
  return (who) => {
    if (who === 'all' || queued === 'all') queued = 'all';
    else {
      queued ??= new Set();
      queued.add(who);
    }
    if (!running) void run();
  };
}
