// `AccessGuard`: connection caps (global and per address), the auth deadline and failed-auth limits per address.
import type { IncomingMessage } from 'node:http';

/** WebSocket close codes the server uses, with the reasons a client shows. */
export const CLOSE = {
  /** RFC 6455 1008: policy violation (bad or revoked credentials). */
  policy: 1008,
  /** RFC 6455 1013: try again later (a connection cap is reached). */
  tryLater: 1013,
} as const;

export interface AccessOptions {
  /** Open WebSocket connections at most, all addresses together. @default 512 */
  maxConnections?: number;
  /** Open WebSocket connections at most from one remote address. @default 64 */
  maxPerAddress?: number;
  /** A connection that has not authenticated by then is closed, ms. @default 10_000 */
  authTimeoutMs?: number;
  /** Refused tokens from one address within `authWindowMs` before its further auth attempts are refused. @default 20 */
  maxFailedAuthPerAddress?: number;
  /** Window of the per-address failed-auth count, ms. @default 600_000 */
  authWindowMs?: number;
  /** Clock, ms. @default Date.now */
  now?: () => number;
}

/** The remote address of a request (the socket's peer; proxies are not trusted). */
export function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Counts connections per address and refused tokens per address; all checks are O(1). */
export class AccessGuard {
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  readonly authTimeoutMs: number;
  readonly maxFailedAuthPerAddress: number;
  readonly authWindowMs: number;
  #open = 0;
  #perAddress = new Map<string, number>();
  #failed = new Map<string, { count: number; since: number }>();
  #now: () => number;

  constructor(o: AccessOptions = {}) {
    this.maxConnections = positiveInt(o.maxConnections ?? 512, 'maxConnections');
    this.maxPerAddress = positiveInt(o.maxPerAddress ?? 64, 'maxPerAddress');
    this.authTimeoutMs = positiveInt(o.authTimeoutMs ?? 10_000, 'authTimeoutMs');
    this.maxFailedAuthPerAddress = positiveInt(o.maxFailedAuthPerAddress ?? 20, 'maxFailedAuthPerAddress');
    this.authWindowMs = positiveInt(o.authWindowMs ?? 600_000, 'authWindowMs');
    this.#now = o.now ?? Date.now;
  }

  /** Open connections now. */
  get open(): number {
    return this.#open;
  }

  /** Registers a new connection from `addr`; returns the close reason when a cap refuses it (nothing is counted then). */
  admit(addr: string): string | null {
    if (this.#open >= this.maxConnections) return `server connection limit (${this.maxConnections}) reached; try again later`;
    const n = this.#perAddress.get(addr) ?? 0;
    if (n >= this.maxPerAddress) return `connection limit per address (${this.maxPerAddress}) reached; close other tabs or try again later`;
    this.#open++;
    this.#perAddress.set(addr, n + 1);
    return null;
  }

  /** Unregisters a connection admitted from `addr`. */
  release(addr: string): void {
    const n = this.#perAddress.get(addr) ?? 0;
    if (n <= 0) return;
    this.#open--;
    if (n === 1) this.#perAddress.delete(addr);
    else this.#perAddress.set(addr, n - 1);
  }

  /** Why auth from `addr` is refused without looking at the token, or null. */
  authBlocked(addr: string): string | null {
    const f = this.#current(addr);
    if (!f || f.count < this.maxFailedAuthPerAddress) return null;
    const wait = Math.ceil((f.since + this.authWindowMs - this.#now()) / 1000);
    return `too many refused tokens from this address (${f.count} in ${this.authWindowMs / 1000} s); try again in ${wait} s`;
  }

  /** Counts a refused token from `addr`. */
  authFailed(addr: string): void {
    const f = this.#current(addr);
    if (f) f.count++;
    else this.#failed.set(addr, { count: 1, since: this.#now() });
  }

  #current(addr: string): { count: number; since: number } | null {
    const f = this.#failed.get(addr);
    if (!f) return null;
    if (this.#now() - f.since >= this.authWindowMs) {
      this.#failed.delete(addr);
      return null;
    }
    return f;
  }
}

function positiveInt(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${field}: expected an integer ≥ 1, received ${v}`);
  return v;
}
