// A refusal by the store, as data: the protocol error code, the field it concerns and why.
import type { ErrorCode } from '../core/protocol.ts';

export class StoreError extends Error {
  /** The reason without the field (`message` is `field: detail`). */
  readonly detail: string;
  constructor(
    readonly code: ErrorCode,
    readonly field: string | null,
    message: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'StoreError';
    this.detail = message;
  }
}

/** A batch call's error for entry `i`: a StoreError's field moves under `items.<i>` so the caller can tell which entry failed. */
export function entryError(e: unknown, i: number): unknown {
  if (!(e instanceof StoreError)) return e;
  return new StoreError(e.code, e.field ? `items.${i}.${e.field}` : `items.${i}`, e.detail);
}
