// Shared pieces for CLI commands: flag validation with named fields, JSON output, error exit codes.
import { z } from 'zod';
import { FieldError, ValidationError } from '../core/errors.ts';

/** An error to show the user without a stack trace; exit code 2 for bad input, 1 otherwise. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Validates commander's option object with a strict zod schema; a bad flag becomes a CliError
 * naming it as `--flag-name`.
 */
export function parseFlags<S extends z.ZodType>(schema: S, opts: unknown): z.infer<S> {
  const r = schema.safeParse(opts);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = i.path.map(String).join('.');
    const flag = key ? `--${key.replace(/([A-Z])/g, '-$1').toLowerCase()}` : '(flags)';
    return `  ✖ ${flag}: ${i.message}`;
  });
  throw new CliError(`invalid flags:\n${lines.join('\n')}`);
}

/** Wraps a command action: known input errors become CliError (exit 2), so the user sees one clear line. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof ValidationError || e instanceof FieldError) throw new CliError(e.message, 2);
      throw e;
    }
  };
}

/** Prints one JSON object as the last line of stdout (the --json contract). */
export function printJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Common zod pieces for numeric flags given as strings by commander. */
export const intFlag = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const numFlag = (min = -Infinity, max = Infinity) => z.coerce.number().min(min).max(max);

/**
 * The parent command `name` (e.g. `train`), created on first use, so several command files can add
 * subcommands to it (`train policy`, `train dpo`, `train reward`).
 */
export function parentCommand(program: import('commander').Command, name: string, description: string) {
  const found = program.commands.find((c) => c.name() === name);
  if (found) return found;
  return program.command(name).description(description);
}

/**
 * The default of `key` in a flags schema, as commander's default string: help texts and parsing read one
 * source (the zod schema), so a default is never written twice.
 */
export function flagDefault<S extends z.ZodObject>(schema: S, key: keyof S['shape'] & string): string {
  const v: unknown = (schema.shape[key] as z.ZodType).parse(undefined);
  if (v === undefined) throw new Error(`flag ${key}: the schema has no default`);
  return String(v);
}
