// One WebSocket connection: authenticates, validates every frame with the shared schemas, checks the role, dispatches.
import type { WebSocket } from 'ws';
import {
  ClientMessageSchema,
  issueField,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ClientOp,
  type ErrorCode,
  type Role,
  type ServerMessage,
} from '../core/protocol.ts';
import type { PreferenceStore } from '../store/preference-store.ts';
import { StoreError } from '../store/store-error.ts';
import { hashToken, type User } from '../store/users.ts';
import { CLOSE, type AccessGuard } from './access.ts';
import { guidelinesFor } from './guidelines.ts';
import { reviewHandlers } from './review.ts';
import type { LiveHub } from './live-hub.ts';
import type { TeleopController } from './teleop.ts';

/** Who may send each op (after `auth`). A Record, so a new op cannot be added without deciding. */
export const OP_ROLES: Record<ClientOp, readonly Role[] | 'anyone'> = {
  auth: 'anyone',
  ping: ['admin', 'annotator', 'operator', 'reviewer'],
  next: ['admin', 'annotator'],
  submit: ['admin', 'annotator'],
  skip: ['admin', 'annotator'],
  undo: ['admin', 'annotator'],
  progress: ['admin', 'annotator'],
  live: ['admin', 'annotator', 'operator'],
  'live.ack': ['admin', 'annotator', 'operator'],
  'teleop.check': ['admin', 'operator'],
  'teleop.execute': ['admin', 'operator'],
  estop: ['admin', 'operator'],
  stats: ['admin'],
  guidelines: ['admin', 'annotator', 'operator', 'reviewer'],
  'guidelines.set': ['admin'],
  disagreements: ['admin', 'reviewer'],
  'review.item': ['admin', 'reviewer'],
  settle: ['admin', 'reviewer'],
};

/** After this many refused tokens a connection is closed. */
const MAX_FAILED_AUTH = 10;

export interface SessionContext {
  /** Either engine; its writes resolve after they committed, so an ack is only sent for a stored answer. */
  store: PreferenceStore;
  live: LiveHub;
  teleop: TeleopController;
  access: AccessGuard;
  log: (line: string) => void;
}

type Handlers = { [K in ClientOp]: (m: Extract<ClientMessage, { op: K }>, user: User) => void | Promise<void> };

export class Session {
  readonly ws: WebSocket;
  #ctx: SessionContext;
  /** Remote address (the socket's peer). */
  readonly address: string;
  #user: User | null = null;
  /** SHA-256 of the token this session authenticated with (compared with the store's on revalidation). */
  #tokenHash: string | null = null;
  #failedAuth = 0;
  /** An auth frame being checked: frames after it wait for it, so they are handled as the client sent them. */
  #authing: Promise<void> | null = null;
  /** This session's answers, skips and undos not yet settled: a later `next` waits for them. */
  #writes = new Set<Promise<unknown>>();
  #handlers: Handlers;
  #authDeadline: ReturnType<typeof setTimeout> | null;

  /** The client's User-Agent (recorded with answers). */
  readonly client: string;

  constructor(ws: WebSocket, address: string, ctx: SessionContext, client = '') {
    this.ws = ws;
    this.address = address;
    this.client = client.slice(0, 200);
    this.#ctx = ctx;
    this.#handlers = this.#makeHandlers();
    // A socket that never authenticates holds a slot of the connection caps: close it after the deadline.
    this.#authDeadline = setTimeout(() => {
      this.#authDeadline = null;
      if (!this.#user) this.ws.close(CLOSE.policy, `not authenticated within ${ctx.access.authTimeoutMs / 1000} s`);
    }, ctx.access.authTimeoutMs);
    this.#authDeadline.unref?.();
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer | ArrayBuffer | Buffer[], isBinary));
    ws.on('close', () => {
      if (this.#authDeadline) clearTimeout(this.#authDeadline);
      ctx.live.unsubscribe(ws);
    });
  }

  get user(): User | null {
    return this.#user;
  }

  /**
   * Closes the session when its user is no longer enabled with the token it authenticated with
   * (`active`: token hash by user id of the enabled users). Returns whether it closed.
   */
  revalidate(active: ReadonlyMap<number, string>): boolean {
    const u = this.#user;
    if (!u || this.ws.readyState !== this.ws.OPEN) return false;
    const hash = active.get(u.id);
    if (hash === this.#tokenHash) return false;
    const why = hash === undefined ? 'user disabled' : 'token replaced';
    this.#ctx.log(`closed the socket of ${u.name} (${why})`);
    this.ws.close(CLOSE.policy, why);
    this.#user = null;
    return true;
  }

  send(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  error(id: number | null, code: ErrorCode, field: string | null, message: string): void {
    this.send({ op: 'error', id, code, field, message });
  }

  #onFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) return this.error(null, 'invalid', '(frame)', 'expected a JSON text frame; binary frames are not accepted from clients');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return this.error(null, 'invalid', '(frame)', `expected JSON: ${(e as Error).message}`);
    }
    const rawId = (raw as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'number' && Number.isInteger(rawId) && rawId >= 0 && rawId <= 2 ** 31 ? rawId : null;
    const parsed = ClientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return this.error(id, 'invalid', issueField(i), i.message);
    }
    const msg = parsed.data;
    if (this.#authing) void this.#authing.then(() => this.#dispatch(msg));
    else this.#dispatch(msg);
  }

  #dispatch(msg: ClientMessage): void {
    if (msg.op !== 'auth') {
      const user = this.#user;
      if (!user) return this.error(msg.id, 'unauthorized', 'token', 'send {op:"auth", token} first');
      const allowed = OP_ROLES[msg.op];
      if (allowed !== 'anyone' && !allowed.includes(user.role))
        return this.error(msg.id, 'forbidden', 'op', `${msg.op} needs role ${allowed.join(' or ')}; you are ${user.role}`);
    }
    const handler = this.#handlers[msg.op] as (m: ClientMessage, u: User) => void | Promise<void>;
    let r: void | Promise<void>;
    try {
      r = handler(msg, this.#user!);
    } catch (e) {
      return this.#fail(msg.id, e);
    }
    if (!r) return;
    const settled = r.catch((e) => this.#fail(msg.id, e));
    if (msg.op === 'auth') {
      // Frames sent after auth wait for its outcome (the store answers asynchronously).
      this.#authing = settled;
      void settled.then(() => {
        if (this.#authing === settled) this.#authing = null;
      });
    }
  }

  #fail(id: number, e: unknown): void {
    // A StoreError is the client's to see: a refusal, or `unavailable` (the database is away; resend).
    if (e instanceof StoreError) return this.error(id, e.code, e.field, e.message);
    this.#ctx.log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    this.error(id, 'internal', null, 'internal error (logged on the server)');
  }

  /** Runs a write of this session and tracks it until it settles (see `next`). */
  #write<T>(run: () => Promise<T>): Promise<T> {
    const p = run();
    this.#writes.add(p);
    const drop = () => this.#writes.delete(p);
    p.then(drop, drop);
    return p;
  }

  #makeHandlers(): Handlers {
    const { store, live, teleop, access } = this.#ctx;
    const review = reviewHandlers(store, (m) => this.send(m), this.#ctx.log);
    return {
      ...review,
      auth: async (m) => {
        if (this.#user) return this.error(m.id, 'conflict', 'token', `already authenticated as ${this.#user.name}`);
        const blocked = access.authBlocked(this.address);
        if (blocked) {
          this.error(m.id, 'unauthorized', 'token', blocked);
          this.ws.close(CLOSE.policy, 'too many refused tokens from this address');
          return;
        }
        const user = await store.authenticate(m.token);
        if (this.ws.readyState !== this.ws.OPEN) return;
        if (!user) {
          this.#failedAuth++;
          access.authFailed(this.address);
          this.error(m.id, 'unauthorized', 'token', 'unknown or disabled token');
          if (this.#failedAuth >= MAX_FAILED_AUTH) this.ws.close(CLOSE.policy, 'too many refused tokens');
          return;
        }
        if (user.role === 'robot') {
          // Its whole job is POST /api/items; a socket would get teleop state broadcasts.
          this.error(m.id, 'forbidden', 'token', 'a robot token only adds items (POST /api/items); it opens no WebSocket session');
          this.ws.close(CLOSE.policy, 'robot tokens only add items');
          return;
        }
        this.#user = user;
        this.#tokenHash = hashToken(m.token);
        if (this.#authDeadline) clearTimeout(this.#authDeadline);
        this.#authDeadline = null;
        this.send({ op: 'welcome', id: m.id, protocol: PROTOCOL_VERSION, user: { name: user.name, role: user.role } });
        if (user.role !== 'annotator') this.send(teleop.state());
      },
      ping: (m) => this.send({ op: 'pong', id: m.id, time: Date.now() }),
      next: async (m, user) => {
        // After this client's answers sent before it have settled, so a just-answered item is not leased
        // back (on SQLite they are already queued ahead of it in the same group commit).
        if (this.#writes.size) await Promise.allSettled([...this.#writes]);
        const texts = await store.nextRaw(user, { count: m.count, have: m.have, kinds: m.kinds });
        // Item payloads are stored as validated JSON: splice them in rather than parse and re-serialize.
        if (this.ws.readyState === this.ws.OPEN)
          this.ws.send(`{"op":"items","id":${m.id},"leaseMs":${store.leaseMs},"minWatch":${JSON.stringify(store.minWatch)},"items":[${texts.join(',')}]}`);
      },
      submit: async (m, user) => {
        const r = await this.#write(() =>
          store.submit(user, { clientId: m.clientId, itemId: m.itemId, answer: m.answer, durationMs: m.durationMs, client: this.client }),
        );
        this.send({ op: 'ack', id: m.id, clientId: m.clientId, answerId: r.answerId, duplicate: r.duplicate });
      },
      skip: async (m, user) => {
        const r = await this.#write(() => store.skip(user, m.clientId, m.itemId, m.flag));
        this.send({ op: 'ack', id: m.id, clientId: m.clientId, answerId: r.answerId, duplicate: r.duplicate });
      },
      undo: async (m, user) => {
        const r = await this.#write(() => store.undo(user, m.clientId));
        this.send({ op: 'undone', id: m.id, clientId: m.clientId, itemId: r.itemId });
      },
      progress: async (m, user) => this.send({ op: 'progress', id: m.id, ...(await store.progress(user)) }),
      live: (m) => {
        if (m.subscribe) live.subscribe(this.ws, { ack: m.ack });
        else live.unsubscribe(this.ws);
        this.send({ op: 'live', id: m.id, subscribed: m.subscribe });
      },
      'live.ack': (m) => live.ack(this.ws, m.seq),
      'teleop.check': (m) => {
        const why = teleop.available ? teleop.check(m.primitive) : 'no world or robot is attached to this server';
        this.send({ op: 'teleop.verdict', id: m.id, ok: why === null, reason: why });
      },
      'teleop.execute': async (m, user) => {
        const prior = await store.teleopByClient(user, m.clientId);
        if (prior) {
          // A retry of a command already handled: never move twice.
          if (prior.status === 'executed' || prior.status === 'aborted')
            return this.send({ op: 'teleop.result', id: m.id, clientId: m.clientId, duration: prior.duration_s ?? 0, wall: 0, metrics: {}, aborted: prior.status === 'aborted' });
          return this.error(m.id, 'conflict', 'clientId', `this command was already handled (${prior.status}${prior.reason ? `: ${prior.reason}` : ''})`);
        }
        const task = teleop.state().task;
        try {
          const r = await teleop.execute(m.primitive, user.name);
          const status = r.aborted ? 'aborted' : 'executed';
          await store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status, durationS: r.duration, reason: r.aborted ? 'e-stop' : null });
          this.send({ op: 'teleop.result', id: m.id, clientId: m.clientId, duration: r.duration, wall: r.wall, metrics: r.metrics, aborted: !!r.aborted });
        } catch (e) {
          if (e instanceof StoreError && e.code === 'refused')
            await store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status: 'refused', reason: e.message });
          else if (!(e instanceof StoreError))
            await store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status: 'failed', reason: String(e) });
          throw e;
        }
      },
      estop: async (m, user) => {
        const latchedBy = teleop.state().estopBy;
        try {
          teleop.setEstop(m.engaged, user.name, user.role);
        } catch (e) {
          if (e instanceof StoreError && e.code === 'forbidden') {
            await store.logEstop({ user: user.name, role: user.role, action: 'reset_refused', latchedBy }).catch(() => {});
            this.#ctx.log(`e-stop reset by ${user.name} refused (latched by ${latchedBy})`);
          }
          throw e;
        }
        this.send({ ...teleop.state(), id: m.id });
      },
      stats: async (m) => this.send({ op: 'stats', id: m.id, stats: await store.agreementStats() }),
      guidelines: async (m) => this.send({ op: 'guidelines', id: m.id, task: m.task, ...(await guidelinesFor(store, m.task)) }),
      'guidelines.set': async (m, user) => {
        await store.setGuidelines((await guidelinesFor(store, m.task)).family, m.markdown, user.name);
        this.#ctx.log(`guidelines of ${m.task} edited by ${user.name}`);
        this.send({ op: 'guidelines', id: m.id, task: m.task, ...(await guidelinesFor(store, m.task)) });
      },
    };
  }
}
