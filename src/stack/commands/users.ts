// `pamstack users`: create users with a role and a token (shown once, stored hashed), list, disable, rotate.
import type { Command } from 'commander';
import { z } from 'zod';
import { RoleSchema } from '../../core/protocol.ts';
import { DEFAULT_DB_PATH } from '../../store/store.ts';
import { StoreError } from '../../store/store-error.ts';
import { openPreferenceStore, type PreferenceStore } from '../../store/store-api.ts';
import { action, CliError, parentCommand, parseFlags, printJson } from '../command-kit.ts';

const Db = z.string().min(1).default(DEFAULT_DB_PATH);

async function withStore<T>(db: string, f: (s: PreferenceStore) => Promise<T>): Promise<T> {
  const s = await openPreferenceStore(db);
  try {
    return await f(s);
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(`--${e.field ?? 'db'}: ${e.message.replace(/^[^:]+: /, '')}`);
    throw e;
  } finally {
    await s.close();
  }
}

export function register(program: Command): void {
  const users = parentCommand(program, 'users', 'manage web app users: roles admin, annotator, operator, reviewer, robot; tokens');

  users
    .command('add')
    .description('create a user and print their token (shown once; only its hash is stored)')
    .requiredOption('--role <role>', 'admin | annotator | operator | reviewer (settles disagreements) | robot (may only add items)')
    .option('--name <name>', 'user name (default: <role>-<n>)')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--json', 'print one JSON object { name, role, token }')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ role: RoleSchema, name: z.string().optional(), db: Db, json: z.boolean().default(false) }), raw);
        const { user, token } = await withStore(f.db, async (s) => {
          let name = f.name;
          if (!name) {
            const taken = new Set((await s.listUsers()).map((u) => u.name));
            let k = 1;
            while (taken.has(`${f.role}-${k}`)) k++;
            name = `${f.role}-${k}`;
          }
          return s.addUser(name, f.role);
        });
        if (f.json) printJson({ name: user.name, role: user.role, token });
        else {
          console.log(`created ${user.role} ${user.name}`);
          console.log(`token: ${token}`);
          // A robot token opens no app session: it goes into the file the pusher reads.
          if (user.role === 'robot') console.log('put it in a file only the robot can read (mode 600) for `label --push … --token-file` or the ROS token_file parameter');
          else console.log(`sign in: http://127.0.0.1:8080/#token=${token}`);
          console.log('(the token is not stored; keep it somewhere safe)');
        }
      }),
    );

  users
    .command('list')
    .description('list users and roles (tokens are never shown)')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--json', 'print one JSON object { users: [...] }')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ db: Db, json: z.boolean().default(false) }), raw);
        const list = await withStore(f.db, (s) => s.listUsers());
        if (f.json) printJson({ users: list });
        else for (const u of list) console.log(`${u.name.padEnd(20)} ${u.role.padEnd(10)} ${u.disabled ? 'disabled' : 'active'}  since ${new Date(u.createdAt).toISOString()}`);
      }),
    );

  for (const [cmd, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const)
    users
      .command(cmd)
      .description(disabled ? "disable a user: their token stops working at once" : 're-enable a disabled user')
      .requiredOption('--name <name>', 'user name')
      .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
      .option('--json', 'print one JSON object')
      .action(
        action(async (raw: Record<string, unknown>) => {
          const f = parseFlags(z.strictObject({ name: z.string().min(1), db: Db, json: z.boolean().default(false) }), raw);
          const u = await withStore(f.db, (s) => s.setDisabled(f.name, disabled));
          if (f.json) printJson(u);
          else console.log(`${u.name}: ${u.disabled ? 'disabled' : 'enabled'}`);
        }),
      );

  users
    .command('token')
    .description("replace a user's token and print the new one (the old one stops working)")
    .requiredOption('--name <name>', 'user name')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--json', 'print one JSON object { name, token }')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ name: z.string().min(1), db: Db, json: z.boolean().default(false) }), raw);
        const token = await withStore(f.db, (s) => s.rotateToken(f.name));
        if (f.json) printJson({ name: f.name, token });
        else console.log(`token: ${token}`);
      }),
    );
}
