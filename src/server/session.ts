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
import { StoreError } from '../store/store-error.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/users.ts';
import { agreementStats } from '../store/stats.ts';
import type { Committer } from './committer.ts';
import type { LiveHub } from './live-hub.ts';
import type { TeleopController } from './teleop.ts';

/** Who may send each op (after `auth`). A Record, so a new op cannot be added without deciding. */
export const OP_ROLES: Record<ClientOp, readonly Role[] | 'anyone'> = {
  auth: 'anyone',
  ping: ['admin', 'annotator', 'operator'],
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
};

/** After this many refused tokens a connection is closed. */
const MAX_FAILED_AUTH = 10;

export interface SessionContext {
  store: Store;
  committer: Committer;
  live: LiveHub;
  teleop: TeleopController;
  log: (line: string) => void;
}

type Handlers = { [K in ClientOp]: (m: Extract<ClientMessage, { op: K }>, user: User) => void | Promise<void> };

export class Session {
  readonly ws: WebSocket;
  #ctx: SessionContext;
  #user: User | null = null;
  #failedAuth = 0;
  #handlers: Handlers;

  constructor(ws: WebSocket, ctx: SessionContext) {
    this.ws = ws;
    this.#ctx = ctx;
    this.#handlers = this.#makeHandlers();
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer | ArrayBuffer | Buffer[], isBinary));
    ws.on('close', () => ctx.live.unsubscribe(ws));
  }

  get user(): User | null {
    return this.#user;
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
    if (r) r.catch((e) => this.#fail(msg.id, e));
  }

  #fail(id: number, e: unknown): void {
    if (e instanceof StoreError) return this.error(id, e.code, e.field, e.message);
    this.#ctx.log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    this.error(id, 'internal', null, 'internal error (logged on the server)');
  }

  #makeHandlers(): Handlers {
    const { store, committer, live, teleop } = this.#ctx;
    return {
      auth: (m) => {
        if (this.#user) return this.error(m.id, 'conflict', 'token', `already authenticated as ${this.#user.name}`);
        const user = store.users.authenticate(m.token);
        if (!user) {
          this.#failedAuth++;
          this.error(m.id, 'unauthorized', 'token', 'unknown or disabled token');
          if (this.#failedAuth >= MAX_FAILED_AUTH) this.ws.close(1008, 'too many refused tokens');
          return;
        }
        this.#user = user;
        this.send({ op: 'welcome', id: m.id, protocol: PROTOCOL_VERSION, user: { name: user.name, role: user.role } });
        if (user.role !== 'annotator') this.send(teleop.state());
      },
      ping: (m) => this.send({ op: 'pong', id: m.id, time: Date.now() }),
      next: async (m, user) => {
        // Through the committer, so it runs after this client's submissions sent before it (a just-answered
        // item must not be leased back) and shares their transaction.
        const texts = await committer.enqueue(() => store.nextRaw(user, { count: m.count, have: m.have, kinds: m.kinds }));
        // Item payloads are stored as validated JSON: splice them in rather than parse and re-serialize.
        if (this.ws.readyState === this.ws.OPEN)
          this.ws.send(`{"op":"items","id":${m.id},"leaseMs":${store.leaseMs},"items":[${texts.join(',')}]}`);
      },
      submit: async (m, user) => {
        const r = await committer.enqueue(() =>
          store.submit(user, { clientId: m.clientId, itemId: m.itemId, answer: m.answer, durationMs: m.durationMs }),
        );
        this.send({ op: 'ack', id: m.id, clientId: m.clientId, answerId: r.answerId, duplicate: r.duplicate });
      },
      skip: async (m, user) => {
        const r = await committer.enqueue(() => store.skip(user, m.clientId, m.itemId));
        this.send({ op: 'ack', id: m.id, clientId: m.clientId, answerId: r.answerId, duplicate: r.duplicate });
      },
      undo: async (m, user) => {
        const r = await committer.enqueue(() => store.undo(user, m.clientId));
        this.send({ op: 'undone', id: m.id, clientId: m.clientId, itemId: r.itemId });
      },
      progress: (m, user) => this.send({ op: 'progress', id: m.id, ...store.progress(user) }),
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
        const prior = store.teleopByClient(user, m.clientId);
        if (prior) {
          // A retry of a command already handled: never move twice.
          if (prior.status === 'executed')
            return this.send({ op: 'teleop.result', id: m.id, clientId: m.clientId, duration: prior.duration_s ?? 0, wall: 0, metrics: {} });
          return this.error(m.id, 'conflict', 'clientId', `this command was already handled (${prior.status}${prior.reason ? `: ${prior.reason}` : ''})`);
        }
        const task = teleop.state().task;
        try {
          const r = await teleop.execute(m.primitive, user.name);
          store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status: 'executed', durationS: r.duration });
          this.send({ op: 'teleop.result', id: m.id, clientId: m.clientId, duration: r.duration, wall: r.wall, metrics: r.metrics });
        } catch (e) {
          if (e instanceof StoreError && e.code === 'refused')
            store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status: 'refused', reason: e.message });
          else if (!(e instanceof StoreError))
            store.logTeleop(user, m.clientId, { task, primitive: m.primitive, status: 'failed', reason: String(e) });
          throw e;
        }
      },
      estop: (m, user) => {
        teleop.setEstop(m.engaged, user.name);
        this.send({ ...teleop.state(), id: m.id });
      },
      stats: (m) => this.send({ op: 'stats', id: m.id, stats: agreementStats(store) }),
    };
  }
}
