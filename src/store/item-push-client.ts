// ItemPushClient: sends queue items to a remote `pamstack serve` (POST /api/items) with a robot token.
// A failed send is retried with capped, jittered exponential backoff; an item keeps its id, so the
// server stores it once however often it arrives.
import { readFileSync } from 'node:fs';
import { FieldError, parseOrThrow } from '../core/errors.ts';
import { MAX_PUSH_BODY_BYTES, MAX_PUSH_ITEMS, PushEntrySchema, PushReplySchema, type PushEntry, type PushReply } from '../core/item-push.ts';
import type { Item } from '../core/protocol.ts';

export interface ItemPushOptions {
  /** Base URL of the server, as `pamstack serve` prints it; items go to `<url>api/items`. */
  url: string;
  /** A robot (or admin) token: read it with readTokenFile, never from a command line. */
  token: string;
  /** Items held (queued or in flight) at most; push() refuses more (returns false) until some are delivered. @default 10_000 */
  maxQueue?: number;
  /** JSON bytes held at most, as maxQueue. @default 512 MiB */
  maxQueueBytes?: number;
  /** Entries per request. @default 16 */
  maxBatch?: number;
  /** JSON bytes per request (a larger item goes alone). @default 4 MiB */
  maxBatchBytes?: number;
  /** Delay before the first retry, ms; it doubles per failed try up to retryMaxMs. @default 500 */
  retryBaseMs?: number;
  /** Longest delay between tries, ms. @default 30_000 */
  retryMaxMs?: number;
  /** A request unanswered by then is abandoned and retried, ms. @default 60_000 */
  requestTimeoutMs?: number;
  /** Uniform in [0, 1): the jitter of each delay. @default Math.random */
  random?: () => number;
  /** Told of each item the server refused for good (invalid, or its id taken by other content); it is dropped. */
  onRejected?: (id: string, error: string) => void;
  /** Told before each retry: why, and the delay. */
  onRetry?: (error: string, delayMs: number) => void;
}

/** Where a client stands. */
export interface PushSummary {
  /** Items the server stored (new). */
  added: number;
  /** Items the server already held with the same content (a retry whose answer was lost). */
  duplicates: number;
  /** Items the server refused for good (see onRejected). */
  rejected: number;
  /** Items push() refused because the queue was full. */
  dropped: number;
  /** Items not delivered yet (queued or in flight). */
  pending: number;
  /** Why sending stopped for good (token refused, no push API at the URL), or the last transient error while items are pending. */
  error: string | null;
  /** True once the server refused the token or the URL has no push API: nothing more is sent. */
  stopped: boolean;
}

interface Queued {
  entry: PushEntry;
  json: string;
  bytes: number;
}

type Outcome = { kind: 'done' } | { kind: 'retry' | 'stop'; error: string; status: number | null };

/** The server refused a push or could not be reached; `status` is the HTTP status (null: no answer). */
export class ItemPushError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ItemPushError';
  }
}

/** The push endpoint of a server URL; anything but an http(s) URL without credentials is an error naming `field`. */
export function pushEndpoint(url: string, field = 'url'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FieldError(field, 'an http:// or https:// URL of a pamstack server (as `pamstack serve` prints it)', url);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new FieldError(field, 'an http:// or https:// URL of a pamstack server (as `pamstack serve` prints it)', url);
  if (u.username || u.password) throw new FieldError(field, 'a URL without user or password (the token comes from the token file)', `${u.protocol}//***@${u.host}${u.pathname}`);
  if (u.search || u.hash) throw new FieldError(field, 'a URL without ?query or #fragment', url);
  return new URL('api/items', u.pathname.endsWith('/') ? u : new URL(`${u.pathname}/`, u));
}

/** The token in a file (one line; surrounding whitespace ignored); errors name `field` and the file, never the token. */
export function readTokenFile(path: string, field = 'token_file'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FieldError(field, 'a readable file holding a token (`pamstack users add --role robot` prints one)', `${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const token = text.trim();
  if (!token) throw new FieldError(field, 'a file holding a token', `${path} (empty)`);
  if (/\s/.test(token)) throw new FieldError(field, 'a file holding one token on one line', `${path} (${token.split(/\s+/).length} words)`);
  return token;
}

export class ItemPushClient {
  readonly endpoint: URL;
  #token: string;
  #o: Required<Omit<ItemPushOptions, 'url' | 'token' | 'onRejected' | 'onRetry'>>;
  #onRejected: ItemPushOptions['onRejected'];
  #onRetry: ItemPushOptions['onRetry'];
  #queue: Queued[] = [];
  #bytes = 0;
  #inFlight = 0;
  #added = 0;
  #duplicates = 0;
  #rejected = 0;
  #dropped = 0;
  #error: string | null = null;
  #stopped = false;
  #closed = false;
  #running = false;
  /** Send entries one per request after a request too large for the server (413 without an index). */
  #single = false;
  #wake: (() => void) | null = null;
  #waiters: (() => void)[] = [];
  #abort = new AbortController();

  constructor(o: ItemPushOptions) {
    this.endpoint = pushEndpoint(o.url);
    if (!o.token) throw new FieldError('token', 'a non-empty token', '');
    this.#token = o.token;
    this.#o = {
      maxQueue: positiveInt(o.maxQueue ?? 10_000, 'maxQueue'),
      maxQueueBytes: positiveInt(o.maxQueueBytes ?? 512 * 1024 * 1024, 'maxQueueBytes'),
      maxBatch: Math.min(MAX_PUSH_ITEMS, positiveInt(o.maxBatch ?? 16, 'maxBatch')),
      maxBatchBytes: positiveInt(o.maxBatchBytes ?? 4 * 1024 * 1024, 'maxBatchBytes'),
      retryBaseMs: positiveInt(o.retryBaseMs ?? 500, 'retryBaseMs'),
      retryMaxMs: positiveInt(o.retryMaxMs ?? 30_000, 'retryMaxMs'),
      requestTimeoutMs: positiveInt(o.requestTimeoutMs ?? 60_000, 'requestTimeoutMs'),
      random: o.random ?? Math.random,
    };
    this.#onRejected = o.onRejected;
    this.#onRetry = o.onRetry;
  }

  /**
   * Queues an item for the server (validated here: a bad item throws, naming the field). Returns false,
   * keeping nothing, when the queue is full (maxQueue / maxQueueBytes): the caller keeps or logs it.
   */
  push(item: Item, opts: Omit<PushEntry, 'item'> = {}): boolean {
    if (this.#closed) throw new Error('ItemPushClient: push after close');
    const entry = parseOrThrow(PushEntrySchema, { ...opts, item }, `pushed item ${JSON.stringify((item as { id?: unknown }).id)}`);
    const json = JSON.stringify(entry);
    const bytes = Buffer.byteLength(json);
    if (bytes + 16 > MAX_PUSH_BODY_BYTES) throw new FieldError('item', `at most ${MAX_PUSH_BODY_BYTES} bytes of JSON (the server's limit)`, `${bytes} bytes (${entry.item.id})`);
    if (this.#queue.length + this.#inFlight >= this.#o.maxQueue || this.#bytes + bytes > this.#o.maxQueueBytes) {
      this.#dropped++;
      return false;
    }
    this.#queue.push({ entry, json, bytes });
    this.#bytes += bytes;
    this.#pump();
    return true;
  }

  /**
   * Asks the server whether this token may push (an empty batch): resolves when it may; otherwise throws
   * an ItemPushError naming the answer (401 unknown or disabled token, 403 wrong role, unreachable, no push API).
   */
  async check(): Promise<void> {
    const r = await this.#post('{"items":[]}');
    if (r.kind !== 'done') throw new ItemPushError(r.error, r.status);
  }

  summary(): PushSummary {
    return {
      added: this.#added,
      duplicates: this.#duplicates,
      rejected: this.#rejected,
      dropped: this.#dropped,
      pending: this.#queue.length + this.#inFlight,
      error: this.#error,
      stopped: this.#stopped,
    };
  }

  /**
   * Resolves once every queued item is delivered (or refused for good), sending stopped, or `deadlineMs`
   * passed; a retry waiting out its backoff is tried at once. Items still pending stay queued.
   */
  async flush(deadlineMs: number): Promise<PushSummary> {
    if (this.#idle()) return this.summary();
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      timer = setTimeout(resolve, deadlineMs);
    });
    clearTimeout(timer);
    return this.summary();
  }

  /** flush(deadlineMs), then stops: a request still in flight is abandoned, pending items are dropped. */
  async close(deadlineMs = 0): Promise<PushSummary> {
    const s = await this.flush(deadlineMs);
    this.#closed = true;
    this.#abort.abort();
    this.#wake?.();
    return s;
  }

  #idle(): boolean {
    return this.#stopped || (this.#queue.length === 0 && this.#inFlight === 0);
  }

  #settle(): void {
    if (!this.#idle()) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #pump(): void {
    if (this.#running || this.#stopped || this.#closed) return;
    this.#running = true;
    void this.#run().finally(() => {
      this.#running = false;
      // An item pushed while the loop was finishing would wait for the next push otherwise.
      if (this.#queue.length) this.#pump();
      this.#settle();
    });
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#queue.length && !this.#stopped && !this.#closed) {
      const batch = this.#take();
      this.#inFlight = batch.length;
      const body = `{"items":[${batch.map((q) => q.json).join(',')}]}`;
      const r = await this.#post(body, batch);
      this.#inFlight = 0;
      if (this.#closed) break;
      if (r.kind === 'retry') {
        // Back in front, in order: the same entries (the same ids) go again.
        this.#queue.unshift(...batch);
        this.#error = r.error;
        const cap = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(failures++, 30));
        const delay = Math.round(cap / 2 + (this.#o.random() * cap) / 2);
        this.#onRetry?.(r.error, delay);
        await this.#sleep(delay);
        continue;
      }
      failures = 0;
      if (r.kind === 'stop') {
        this.#queue.unshift(...batch.filter((q) => !q.done));
        this.#error = r.error;
        this.#stopped = true;
        break;
      }
      this.#queue.unshift(...batch.filter((q) => !q.done));
      this.#error = null;
      this.#settle();
    }
  }

  /** The next request's entries, taken off the queue (its bytes are released as they are delivered). */
  #take(): (Queued & { done?: boolean })[] {
    const out: Queued[] = [this.#queue.shift()!];
    let bytes = out[0]!.bytes;
    const max = this.#single ? 1 : this.#o.maxBatch;
    while (out.length < max && this.#queue.length && bytes + this.#queue[0]!.bytes <= this.#o.maxBatchBytes) {
      const q = this.#queue.shift()!;
      bytes += q.bytes;
      out.push(q);
    }
    return out;
  }

  /** One request; for a batch, marks the entries the server answered for (delivered or refused for good). */
  async #post(body: string, batch: (Queued & { done?: boolean })[] = []): Promise<Outcome> {
    const where = `${this.endpoint.origin}${this.endpoint.pathname}`;
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.requestTimeoutMs)]),
      });
    } catch (e) {
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', error: `${where} unreachable (${c?.code ?? c?.message ?? (e as Error).message})`, status: null };
    }
    let reply: PushReply | null = null;
    let text = '';
    try {
      text = await res.text();
      const p = PushReplySchema.safeParse(JSON.parse(text));
      if (p.success) reply = p.data;
    } catch {
      // not JSON: a proxy's page, or the body was cut off; judged by the status below
    }
    const said = reply?.error ? `${reply.error.field ? `${reply.error.field}: ` : ''}${reply.error.message}` : text.slice(0, 200).trim();
    const s = res.status;
    if (s === 408 || s === 429 || s >= 500) return { kind: 'retry', error: `${where} answered ${s}${said ? ` (${said})` : ''}`, status: s };
    if (s === 401 || s === 403)
      return { kind: 'stop', error: `${where} refused the token: ${s} ${s === 401 ? 'unauthorized' : 'forbidden'}${said ? ` (${said})` : ''}`, status: s };
    if (!reply) return { kind: 'stop', error: `${where} answered ${s} without a push reply: is it a pamstack server with the push API?${said ? ` (${said})` : ''}`, status: s };
    let k = 0;
    for (const r of reply.results) {
      const q = batch[k++];
      if (!q) break;
      q.done = true;
      this.#bytes -= q.bytes;
      if (r.duplicate) this.#duplicates++;
      else this.#added++;
    }
    if (s === 200) return { kind: 'done' };
    if (s === 413 && reply.index === undefined && batch.length > 1 && !this.#single) {
      this.#single = true;
      return { kind: 'done' };
    }
    const bad = reply.index !== undefined ? batch[reply.index] : batch.length === 1 ? batch[0] : undefined;
    if (!bad || bad.done) return { kind: 'stop', error: `${where} answered ${s} (${said})`, status: s };
    bad.done = true;
    this.#bytes -= bad.bytes;
    this.#rejected++;
    this.#onRejected?.(bad.entry.item.id, `${s} ${said}`);
    return { kind: 'done' };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

function positiveInt(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1) throw new FieldError(field, 'an integer ≥ 1', v);
  return v;
}
