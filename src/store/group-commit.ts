// Group commit for SQLite: writes that arrive within a short window share one transaction (one fsync);
// each resolves only after that transaction committed.

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Job {
  run: () => unknown;
  done: (o: Outcome<unknown>) => void;
}

export class GroupCommit {
  #transaction: (fn: () => void) => void;
  #queue: Job[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #commits = 0;
  #writes = 0;
  #windowMs: number;

  /**
   * `transaction` runs its callback in one transaction (better-sqlite3's `db.transaction`).
   * `windowMs`: how long the first write waits for company. A FULL-sync commit costs an fsync
   * (~1–10 ms), so a couple of milliseconds of waiting multiplies throughput under load.
   */
  constructor(transaction: (fn: () => void) => void, windowMs = 2) {
    this.#transaction = transaction;
    this.#windowMs = windowMs;
  }

  /**
   * Runs `run` inside the next group transaction (as a savepoint when `run` opens its own: its failure
   * rolls back only itself) and resolves once that transaction has committed. Jobs run in the order
   * they were enqueued, so a caller's later read sees its earlier writes.
   */
  enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, done: (o) => (o.ok ? resolve(o.value as T) : reject(o.error)) });
      this.#timer ??= setTimeout(() => this.#flush(), this.#windowMs);
    });
  }

  get stats(): { commits: number; writes: number } {
    return { commits: this.#commits, writes: this.#writes };
  }

  /** Commits whatever is waiting now (before the store closes). */
  drain(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const jobs = this.#queue;
    this.#queue = [];
    if (!jobs.length) return;
    const outcomes: Outcome<unknown>[] = [];
    try {
      this.#transaction(() => {
        for (const j of jobs) {
          try {
            outcomes.push({ ok: true, value: j.run() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
      this.#commits++;
      this.#writes += jobs.length;
    } catch (error) {
      // The commit itself failed: nothing in it is stored, so nothing may be acknowledged.
      for (const j of jobs) j.done({ ok: false, error });
      return;
    }
    jobs.forEach((j, i) => j.done(outcomes[i]!));
  }
}
