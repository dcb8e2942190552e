// POST /api/items: a robot (or an admin) adds queue items with its bearer token; retries store nothing twice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_PUSH_BODY_BYTES, type PushReply } from '../core/item-push.ts';
import type { ErrorCode, Role } from '../core/protocol.ts';
import { pushItems } from '../store/item-push.ts';
import type { PreferenceStore } from '../store/preference-store.ts';
import { remoteAddress, type AccessGuard } from './access.ts';
import { SECURITY_HEADERS } from './static-files.ts';

/** Roles whose tokens may add items. */
export const PUSH_ROLES: readonly Role[] = ['robot', 'admin'];

/** The HTTP status of each refusal. A Record, so a new code cannot be added without deciding. */
const STATUS: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  busy: 503,
  refused: 422,
  estop: 503,
  unavailable: 503,
  internal: 500,
};

export interface ItemPushContext {
  store: PreferenceStore;
  access: AccessGuard;
  log: (line: string) => void;
  /** Largest body accepted, bytes. @default MAX_PUSH_BODY_BYTES */
  maxBodyBytes?: number;
}

/** Answers one request to /api/items (never rejects: failures are answered, internal ones logged). */
export async function handleItemPush(req: IncomingMessage, res: ServerResponse, ctx: ItemPushContext): Promise<void> {
  const refuse = (code: ErrorCode, field: string | null, message: string, headers: Record<string, string> = {}, status = STATUS[code]) =>
    reply(res, status, { results: [], error: { code, field, message } }, headers);
  try {
    if (req.method !== 'POST') return refuse('invalid', '(method)', `expected POST, received ${req.method}`, { allow: 'POST' }, 405);
    // The token before the body: an unauthenticated client never gets megabytes read.
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) return refuse('unauthorized', 'authorization', 'send Authorization: Bearer <robot token>', { 'www-authenticate': 'Bearer' });
    const addr = remoteAddress(req);
    const blocked = ctx.access.authBlocked(addr);
    if (blocked) return refuse('unauthorized', 'authorization', blocked);
    const user = await ctx.store.authenticate(m[1]!);
    if (!user) {
      ctx.access.authFailed(addr);
      return refuse('unauthorized', 'authorization', 'unknown or disabled token', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (!PUSH_ROLES.includes(user.role)) return refuse('forbidden', 'authorization', `adding items needs role ${PUSH_ROLES.join(' or ')}; you are ${user.role}`);
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) return refuse('invalid', 'content-type', `expected application/json, received ${JSON.stringify(type)}`, {}, 415);
    const max = ctx.maxBodyBytes ?? MAX_PUSH_BODY_BYTES;
    const body = await readBody(req, max);
    if (body === null) return refuse('invalid', '(body)', `larger than ${max} bytes; push fewer or smaller items`, { connection: 'close' }, 413);
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch (e) {
      return refuse('invalid', '(body)', `expected JSON: ${(e as Error).message}`);
    }
    const r = await pushItems(ctx.store, raw);
    const added = r.results.filter((x) => !x.duplicate).length;
    if (added) ctx.log(`${user.name} (${user.role}) queued ${added} item${added === 1 ? '' : 's'}`);
    reply(res, r.error ? STATUS[r.error.code] : 200, r);
  } catch (e) {
    ctx.log(`internal error on /api/items: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (!res.headersSent) reply(res, 500, { results: [], error: { code: 'internal', field: null, message: 'internal error (logged on the server)' } });
    else res.destroy();
  }
}

function reply(res: ServerResponse, status: number, body: PushReply, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers });
  res.end(JSON.stringify(body));
}

/** The request body as text, or null when it exceeds `max` bytes (declared or as it arrives). */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
