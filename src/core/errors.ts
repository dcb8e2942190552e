// Validation at the edges: zod issues kept as data, rendered once with the field path and the rule.
import { z } from 'zod';

/** A boundary refused its input. `issues` are zod issues (data); `message` names field, rule and value. */
export class ValidationError extends Error {
  readonly issues: readonly z.core.$ZodIssue[];
  readonly what: string;
  constructor(what: string, issues: readonly z.core.$ZodIssue[]) {
    super(`invalid ${what}:\n${renderIssues(issues)}`);
    this.name = 'ValidationError';
    this.what = what;
    this.issues = issues;
  }
}

/** Renders zod issues as "  ✖ field.path: message" lines. */
export function renderIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => `  ✖ ${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

/** Parses `value` with `schema`; throws a ValidationError naming `what` and each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(what, r.error.issues);
  return r.data;
}

/** An error about one named field outside the allowed range, for checks zod cannot express. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly allowed: string,
    readonly received: unknown,
  ) {
    super(`${field}: expected ${allowed}, received ${formatReceived(received)}`);
    this.name = 'FieldError';
  }
}

function formatReceived(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(+v.toPrecision(6)) : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    const s = JSON.stringify(v);
    return s && s.length > 80 ? `${s.slice(0, 77)}...` : String(s);
  } catch {
    return String(v);
  }
}
