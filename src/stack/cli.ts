// The `pamstack` command line: finds every command module in ./commands and runs the one asked for.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from './command-kit.ts';

/** A command module exports `register(program)`, adding its command(s) with options and --help text. */
export interface CommandModule {
  register(program: Command): void;
}

/** Builds the program with every command under src/stack/commands registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('pamstack')
    .description('pamstack: deformable-object manipulation that learns from human preferences')
    .showHelpAfterError()
    .exitOverride();
  const dir = fileURLToPath(new URL('./commands/', import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  for (const f of files) {
    const mod = (await import(`./commands/${f}`)) as Partial<CommandModule>;
    if (typeof mod.register !== 'function') throw new Error(`src/stack/commands/${f} does not export register(program)`);
    mod.register(program);
  }
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 2 bad input, 1 failure). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version')
        return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`pamstack: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`pamstack: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
