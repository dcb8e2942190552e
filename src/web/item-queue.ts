// The annotator's queue in the browser: current item, prefetched next items, answered history for undo.
import type { Answer, AnswerFlag, Item, ItemKind, Progress } from '../core/protocol.ts';
import { newClientId, ProtocolError, type Connection } from './net.ts';

export interface Done {
  item: Item;
  clientId: string;
  op: 'submit' | 'skip';
  answer?: Answer;
}

/** How many items beyond the current one are kept ready. */
const PREFETCH = 2;

// The store times a watch from the later of the lease and the user's last stored answer (any view), and
// that answer is stored after the next item already shows. The client counts from its acknowledgement
// (which follows the commit), so its countdown never ends before the server's: a lagging ack would
// otherwise get an answer the countdown allowed refused as too early.
let answersInFlight = 0;
let lastAnswerAckAt = 0;

/** Whether an answer of this page is still on its way to the store (its watch countdown waits for it). */
export function answerInFlight(): boolean {
  return answersInFlight > 0;
}

export class ItemQueue {
  current: Item | null = null;
  buffer: Item[] = [];
  history: Done[] = [];
  progress: Omit<Progress, 'op' | 'id'> | null = null;
  /** Answers sent but not yet acknowledged (kept and resent by the connection). */
  unacked = 0;

  /** The progress line both annotation views show: my answers, what is left, the queue, unsaved answers. */
  progressText(): string {
    const p = this.progress;
    if (!p) return '';
    return `done ${p.mine.submitted} · today ${p.mine.today} · left for you ${p.queue.available} · queue ${p.queue.complete}/${p.queue.total} complete${this.unacked ? ` · saving ${this.unacked}` : ''}`;
  }
  /** Answers acknowledged in this session. */
  acked = 0;
  /** Set when the queue is drained for this user. */
  empty = false;
  #conn: Connection;
  #kinds: ItemKind[];
  #onChange: (why: 'item' | 'progress' | 'error', detail?: string) => void;
  #filling: Promise<void> | null = null;
  #poll = 0;
  #shownAt = performance.now();
  #stopped = false;

  constructor(conn: Connection, kinds: ItemKind[], onChange: (why: 'item' | 'progress' | 'error', detail?: string) => void) {
    this.#conn = conn;
    this.#kinds = kinds;
    this.#onChange = onChange;
  }

  async start(): Promise<void> {
    await this.#fill();
    this.#advance();
    void this.refreshProgress();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#poll);
  }

  /** The server's minimum watch time of a clip pair (see the items message). */
  minWatch: 'shorter-clip' | number = 'shorter-clip';

  /** Milliseconds since the current item appeared. */
  elapsed(): number {
    return Math.round(performance.now() - this.#shownAt);
  }

  /** Milliseconds the current item has been watched as the store counts it (0 while an answer is unacknowledged). */
  watchedMs(): number {
    if (answerInFlight()) return 0;
    return Math.round(performance.now() - Math.max(this.#shownAt, lastAnswerAckAt));
  }

  /** Sends the answer for the current item and moves on at once; the server's ack arrives later. */
  submit(answer: Answer): void {
    const item = this.current;
    if (!item) return;
    const clientId = newClientId();
    this.history.push({ item, clientId, op: 'submit', answer });
    this.#send({ op: 'submit', clientId, itemId: item.id, answer, durationMs: this.elapsed() });
    this.#advance();
  }

  skip(flag?: AnswerFlag): void {
    const item = this.current;
    if (!item) return;
    const clientId = newClientId();
    this.history.push({ item, clientId, op: 'skip' });
    this.#send(flag ? { op: 'skip', clientId, itemId: item.id, flag } : { op: 'skip', clientId, itemId: item.id });
    this.#advance();
  }

  /** Takes back the last answer or skip: the item comes back as current (with the old answer returned for editing). */
  undo(): Done | null {
    const last = this.history.pop();
    if (!last) return null;
    if (this.current) this.buffer.unshift(this.current);
    this.current = last.item;
    this.empty = false;
    this.#shownAt = performance.now();
    void this.#conn
      .durable({ op: 'undo', clientId: last.clientId })
      .then(() => this.refreshProgress())
      .catch((e: Error) => this.#onChange('error', `undo failed: ${e.message}`));
    this.#onChange('item');
    return last;
  }

  async refreshProgress(): Promise<void> {
    try {
      const m = await this.#conn.request({ op: 'progress' });
      if (m.op === 'progress') {
        const { op: _op, id: _id, ...rest } = m;
        this.progress = rest;
        this.#onChange('progress');
      }
    } catch {
      /* offline: keep the old counts */
    }
  }

  #send(msg: { op: 'submit'; clientId: string; itemId: string; answer: Answer; durationMs: number } | { op: 'skip'; clientId: string; itemId: string; flag?: AnswerFlag }): void {
    this.unacked++;
    answersInFlight++;
    this.#conn
      .durable(msg)
      .then(() => {
        this.acked++;
        lastAnswerAckAt = performance.now();
        void this.refreshProgress();
      })
      .catch((e: Error) => {
        const code = e instanceof ProtocolError ? e.code : 'error';
        this.#onChange('error', `${msg.op} not stored (${code}): ${e.message}`);
      })
      .finally(() => {
        this.unacked--;
        answersInFlight--;
        this.#onChange('progress');
      });
  }

  #advance(): void {
    this.current = this.buffer.shift() ?? null;
    this.#shownAt = performance.now();
    this.empty = this.current === null;
    this.#onChange('item');
    void this.#fill().then(() => {
      if (!this.current && this.buffer.length) {
        this.current = this.buffer.shift()!;
        this.#shownAt = performance.now();
        this.empty = false;
        this.#onChange('item');
      }
    });
  }

  /** Tops the buffer up to PREFETCH items (one request at a time); polls while the queue is empty. */
  #fill(): Promise<void> {
    if (this.#filling) return this.#filling;
    // Cleared in a later microtask, so a fill that finishes at once cannot leave a stale promise behind.
    const p: Promise<void> = this.#fetchMore().finally(() => {
      if (this.#filling === p) this.#filling = null;
    });
    this.#filling = p;
    return p;
  }

  async #fetchMore(): Promise<void> {
    try {
      const want = PREFETCH + (this.current ? 0 : 1) - this.buffer.length;
      if (want <= 0) return;
      // Recently answered ids too: their answers may still be on the way, and must not come back.
      const held = [...(this.current ? [this.current.id] : []), ...this.buffer.map((i) => i.id)];
      const have = [...new Set([...held, ...this.history.slice(-(20 - held.length)).map((h) => h.item.id)])].slice(0, 20);
      const m = await this.#conn.request({ op: 'next', count: Math.min(5, want), have, kinds: this.#kinds });
      if (m.op !== 'items') return;
      this.minWatch = m.minWatch;
      const known = new Set([...have, ...this.history.map((h) => h.item.id)]);
      for (const it of m.items) if (!known.has(it.id)) this.buffer.push(it);
      clearTimeout(this.#poll);
      if (!m.items.length && !this.#stopped)
        this.#poll = window.setTimeout(() => {
          if (!this.current) this.#advance();
          else void this.#fill();
        }, 5000);
    } catch (e) {
      this.#onChange('error', `could not fetch items: ${(e as Error).message}`);
    }
  }
}
