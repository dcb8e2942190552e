// The browser's WebSocket client: auth, request/reply by id, reconnect, and a durable outbox for answers.
import {
  ServerMessageSchema,
  type ClientMessage,
  type ErrorCode,
  type Role,
  type ServerMessage,
} from '../core/protocol.ts';

/** A request refused by the server: the protocol's code, field and message. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode | 'disconnected',
    readonly field: string | null,
    message: string,
  ) {
    super(field && field !== '(frame)' ? `${field}: ${message}` : message);
    this.name = 'ProtocolError';
  }
}

type Outgoing = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;
type Durable = Extract<Outgoing, { op: 'submit' | 'skip' | 'undo' | 'teleop.execute' }>;

interface Pending {
  msg: Outgoing;
  durable: boolean;
  resolve: (m: ServerMessage) => void;
  reject: (e: Error) => void;
  /** A resend waiting after an `unavailable` reply, and the wait before the next one (ms). */
  retry?: ReturnType<typeof setTimeout>;
  retryMs?: number;
}

/**
 * Durable writes resent after an `unavailable` reply (the server's database was away: the write was
 * not stored, or its outcome is unknown; the client id makes the resend safe). A teleop command is
 * not: `unavailable` there means no robot is attached, and a move is never repeated unasked.
 */
const RESEND_WHEN_UNAVAILABLE: ReadonlySet<Outgoing['op']> = new Set(['submit', 'skip', 'undo']);

export type ConnState = 'connecting' | 'open' | 'closed' | 'refused';

export interface ConnectionHandlers {
  onState?: (s: ConnState, detail?: string) => void;
  /** Server messages that answer no request (teleop.state broadcasts). */
  onBroadcast?: (m: ServerMessage) => void;
  /** Binary live frames. */
  onLive?: (buf: ArrayBuffer) => void;
}

export class Connection {
  user: { name: string; role: Role } | null = null;
  #url: string;
  #token: string;
  #h: ConnectionHandlers;
  #ws: WebSocket | null = null;
  #authed = false;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #queued: number[] = [];
  #backoff = 250;
  #closed = false;
  #refused = false;
  #live = false;
  #firstWelcome: { resolve: (u: { name: string; role: Role }) => void; reject: (e: Error) => void } | null = null;

  constructor(url: string, token: string, h: ConnectionHandlers = {}) {
    this.#url = url;
    this.#token = token;
    this.#h = h;
  }

  /** Opens the socket and authenticates; rejects when the token is refused. */
  connect(): Promise<{ name: string; role: Role }> {
    return new Promise((resolve, reject) => {
      this.#firstWelcome = { resolve, reject };
      this.#open();
    });
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close();
  }

  get connected(): boolean {
    return this.#authed;
  }

  /** Sends a request and resolves with its reply (rejects with ProtocolError on an error reply or a disconnect). */
  request(msg: Outgoing): Promise<ServerMessage> {
    return this.#enqueue(msg, false);
  }

  /**
   * Sends a write that must not be lost: kept (also in localStorage, across reloads) and resent
   * after a reconnect until the server acknowledges it; the client id makes the resend harmless.
   */
  durable(msg: Durable): Promise<ServerMessage> {
    if (msg.op !== 'teleop.execute') this.#saveOutbox(msg, true);
    return this.#enqueue(msg, true).finally(() => {
      if (msg.op !== 'teleop.execute') this.#saveOutbox(msg, false);
    });
  }

  /** Subscribes to the live view (kept across reconnects). */
  async setLive(on: boolean): Promise<void> {
    this.#live = on;
    if (this.#authed) await this.request({ op: 'live', subscribe: on, ack: true });
  }

  /** Tells the server frame `seq` is drawn (no reply; dropped while offline). */
  ackLive(seq: number): void {
    if (this.#authed) this.#ws?.send(JSON.stringify({ op: 'live.ack', id: 0, seq }));
  }

  #enqueue(msg: Outgoing, durable: boolean): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { msg, durable, resolve, reject });
      if (this.#authed) this.#send(id, msg);
      else this.#queued.push(id);
    });
  }

  #send(id: number, msg: Outgoing): void {
    this.#ws?.send(JSON.stringify({ ...msg, id }));
  }

  #open(): void {
    this.#h.onState?.('connecting');
    const ws = new WebSocket(this.#url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ op: 'auth', id: 0, token: this.#token }));
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) return this.#h.onLive?.(ev.data);
      let m: ServerMessage;
      try {
        m = ServerMessageSchema.parse(JSON.parse(ev.data as string));
      } catch (e) {
        console.error('pamstack: bad server message', e);
        return;
      }
      this.#onMessage(m);
    };
    ws.onclose = (ev) => {
      this.#authed = false;
      this.#ws = null;
      for (const [id, p] of this.#pending) {
        // A resend waiting for the database goes out with the others after the reconnect instead.
        if (p.retry) clearTimeout(p.retry);
        p.retry = undefined;
        if (p.durable) this.#queued.push(id);
        else {
          this.#pending.delete(id);
          p.reject(new ProtocolError('disconnected', null, 'connection lost'));
        }
      }
      if (this.#refused) return; // the token was refused: reconnecting cannot help
      if (this.#closed) return this.#h.onState?.('closed');
      // The server's reason (a connection cap, a revoked token) tells the user more than "reconnecting".
      this.#h.onState?.('closed', ev.reason ? `${ev.reason}; reconnecting` : 'reconnecting');
      setTimeout(() => this.#open(), this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, 5000);
    };
  }

  #onMessage(m: ServerMessage): void {
    if (m.op === 'welcome') {
      this.#authed = true;
      this.#backoff = 250;
      this.user = m.user;
      this.#h.onState?.('open');
      this.#firstWelcome?.resolve(m.user);
      this.#firstWelcome = null;
      this.#resendOutbox();
      const ids = [...new Set(this.#queued)].sort((a, b) => a - b);
      this.#queued = [];
      for (const id of ids) {
        const p = this.#pending.get(id);
        if (p) this.#send(id, p.msg);
      }
      if (this.#live) void this.request({ op: 'live', subscribe: true, ack: true }).catch(() => {});
      return;
    }
    if (m.op === 'error' && m.id === 0 && m.code === 'unauthorized') {
      this.#refused = true;
      this.#closed = true;
      this.#h.onState?.('refused', m.message);
      this.#firstWelcome?.reject(new ProtocolError(m.code, m.field, m.message));
      this.#firstWelcome = null;
      this.#ws?.close();
      return;
    }
    const id = 'id' in m ? m.id : null;
    const p = id !== null && id !== undefined ? this.#pending.get(id) : undefined;
    if (!p) return this.#h.onBroadcast?.(m);
    if (m.op === 'error' && m.code === 'unavailable' && p.durable && RESEND_WHEN_UNAVAILABLE.has(p.msg.op)) {
      p.retryMs = Math.min((p.retryMs ?? 250) * 2, 5000);
      p.retry = setTimeout(() => {
        p.retry = undefined;
        if (this.#authed && this.#pending.get(id!) === p) this.#send(id!, p.msg);
      }, p.retryMs);
      return;
    }
    this.#pending.delete(id!);
    if (m.op === 'error') p.reject(new ProtocolError(m.code, m.field, m.message));
    else p.resolve(m);
  }

  // Answers not acknowledged when the page closed are resent on the next visit.
  #outboxKey(): string {
    return `pam.outbox.${this.user?.name ?? 'anon'}`;
  }

  #saveOutbox(msg: Durable, add: boolean): void {
    if (!this.user || !('clientId' in msg)) return;
    try {
      const all = JSON.parse(localStorage.getItem(this.#outboxKey()) ?? '{}') as Record<string, Durable>;
      if (add) all[msg.clientId] = msg;
      else delete all[msg.clientId];
      localStorage.setItem(this.#outboxKey(), JSON.stringify(all));
    } catch {
      /* storage full or disabled: the in-memory retry still holds */
    }
  }

  #resendOutbox(): void {
    let all: Record<string, Durable>;
    try {
      all = JSON.parse(localStorage.getItem(this.#outboxKey()) ?? '{}') as Record<string, Durable>;
    } catch {
      return;
    }
    const inFlight = new Set([...this.#pending.values()].map((p) => ('clientId' in p.msg ? p.msg.clientId : '')));
    for (const msg of Object.values(all)) {
      if (inFlight.has(msg.clientId)) continue;
      this.durable(msg).catch(() => {});
    }
  }
}

/** A fresh client id for a submission (retries reuse it). */
export function newClientId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
