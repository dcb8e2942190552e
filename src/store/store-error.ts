// A refusal by the store, as data: the protocol error code, the field it concerns and why.
import type { ErrorCode } from '../core/protocol.ts';

export class StoreError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly field: string | null,
    message: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'StoreError';
  }
}
