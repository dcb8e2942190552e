// What a `--db` value names: a SQLite file, or a PostgreSQL server by URL. A URL is never a file name
// (a typo'd scheme would otherwise become a folder with the password in its path).
import { FieldError } from '../core/errors.ts';

export type DbTarget =
  | { engine: 'sqlite'; path: string }
  /** `display` is the URL with the password masked, for logs and errors. */
  | { engine: 'postgres'; url: string; display: string };

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** Parses a `--db` value; `flag` names it in errors (e.g. 'db'). */
export function parseDbTarget(value: string, flag = 'db'): DbTarget {
  const m = SCHEME_RE.exec(value);
  if (!m) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/(?!\/)/.test(value) && /^postgres/i.test(value))
      throw new FieldError(flag, 'a file path or postgres://user:password@host:port/database', maskUrl(value));
    return { engine: 'sqlite', path: value };
  }
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql')
    throw new FieldError(flag, 'a file path (SQLite) or a postgres:// / postgresql:// URL', `a ${scheme}:// URL`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new FieldError(flag, 'a valid postgres://user:password@host:port/database URL', maskUrl(value));
  }
  if (!u.hostname && !u.searchParams.get('host')) throw new FieldError(flag, 'a postgres:// URL with a host', maskUrl(value));
  if (u.pathname.length <= 1) throw new FieldError(flag, 'a postgres:// URL naming a database (…/database)', maskUrl(value));
  return { engine: 'postgres', url: value, display: maskUrl(value) };
}

/** The URL with any password replaced by ***. */
export function maskUrl(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/?[^:/@]*):[^@/]*@/, '$1:***@');
}
