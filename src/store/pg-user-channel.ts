// Listens on PostgreSQL's `pamstack_users` channel so every replica learns at once that a user was
// disabled, enabled or given a new token, whichever process made the change.
import pg from 'pg';

/** The channel PgStore notifies in the same transaction as setDisabled and rotateToken. */
export const USERS_CHANNEL = 'pamstack_users';

export interface PgUserChannelOptions {
  /** First wait before reconnecting a lost listening connection, ms (doubles up to 5 s). @default 250 */
  reconnectMs?: number;
  /** Log lines (connection lost, listening again). @default none */
  log?: (line: string) => void;
}

/**
 * One dedicated connection (not from the pool: a pooled client returns to other work and would drop
 * its LISTEN) that calls `onChange(userId)` for every notification. NOTIFY is delivered only after the
 * notifying transaction commits (PostgreSQL manual, NOTIFY), so the change is visible to the query the
 * listener makes next. Notifications sent while the connection is down are lost: after reconnecting
 * and listening again it calls `onChange(null)`, meaning "check everyone".
 */
export class PgUserChannel {
  #url: string;
  #onChange: (userId: number | null) => void;
  #client: pg.Client | null = null;
  #closed = false;
  #retryMs: number;
  #firstRetryMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #log: (line: string) => void;

  private constructor(url: string, onChange: (userId: number | null) => void, o: PgUserChannelOptions) {
    this.#url = url;
    this.#onChange = onChange;
    this.#firstRetryMs = this.#retryMs = o.reconnectMs ?? 250;
    this.#log = o.log ?? (() => {});
  }

  /** Connects and listens; a failed first attempt keeps retrying in the background (polling covers the gap). */
  static async open(url: string, onChange: (userId: number | null) => void, o: PgUserChannelOptions = {}): Promise<PgUserChannel> {
    const ch = new PgUserChannel(url, onChange, o);
    await ch.#connect(false);
    return ch;
  }

  /** Whether the channel listens now. */
  get listening(): boolean {
    return this.#client !== null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => {});
  }

  async #connect(again: boolean): Promise<void> {
    if (this.#closed) return;
    // keepAlive: a connection cut without a FIN (a dead host) is noticed by TCP instead of waiting forever.
    const c = new pg.Client({ connectionString: this.#url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 5000 });
    let lost = false;
    const onLost = (e?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === c) this.#client = null;
      if (this.#closed) return;
      this.#log(`lost the ${USERS_CHANNEL} listener (${e?.message ?? 'connection ended'}); reconnecting`);
      void c.end().catch(() => {});
      this.#schedule();
    };
    // A client's 'error' without a listener would crash the process (node-postgres docs, Client events).
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel !== USERS_CHANNEL) return;
      const id = Number(n.payload);
      this.#onChange(Number.isSafeInteger(id) ? id : null);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${USERS_CHANNEL}`);
    } catch (e) {
      onLost(e as Error);
      return;
    }
    if (this.#closed) {
      await c.end().catch(() => {});
      return;
    }
    this.#client = c;
    this.#retryMs = this.#firstRetryMs;
    if (again) {
      this.#log(`listening on ${USERS_CHANNEL} again`);
      this.#onChange(null);
    }
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect(true);
    }, this.#retryMs);
    this.#timer.unref?.();
    this.#retryMs = Math.min(this.#retryMs * 2, 5000);
  }
}
