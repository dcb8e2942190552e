// Which errors from PostgreSQL or node-postgres mean "the database cannot be reached now" (retry later),
// as opposed to a refusal or a bug: they become a StoreError `unavailable` for the client.
import { StoreError } from './store-error.ts';

/**
 * SQLSTATEs of a lost or refused connection (PostgreSQL manual, Appendix A "PostgreSQL Error Codes"):
 * class 08 Connection Exception; 57P01 admin_shutdown (a fast/smart shutdown or `pg_ctl restart`
 * terminating sessions), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting
 * down); 53300 too_many_connections.
 */
const SQLSTATES = new Set(['08000', '08001', '08003', '08004', '08006', '08007', '57P01', '57P02', '57P03', '53300']);
/** Socket errors from Node's net module while connecting or talking to the server. */
const ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * node-postgres raises these without a code: packages/pg/lib/client.js ("Connection terminated
 * unexpectedly" when the socket ends under a query; "… is not queryable" for a client whose
 * connection failed) and packages/pg-pool/index.js (connection timeouts).
 */
const MESSAGES = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

/** Whether `e` is a lost, refused or not-yet-accepted connection rather than an answer from the database. */
export function isConnectionLoss(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (SQLSTATES.has(code) || ERRNOS.has(code))) return true;
  if (MESSAGES.test(e.message)) return true;
  const cause = (e as { cause?: unknown }).cause;
  return cause !== undefined && cause !== e && isConnectionLoss(cause);
}

/** `e` as the client should see it: a connection loss becomes a retryable StoreError `unavailable`; anything else is unchanged. */
export function asStoreError(e: unknown): unknown {
  if (e instanceof StoreError || !isConnectionLoss(e)) return e;
  const why = (e as { code?: string }).code ?? (e as Error).message;
  return new StoreError('unavailable', null, `the database is unreachable right now (${why}); send it again (a retry with the same client id is stored once)`);
}
