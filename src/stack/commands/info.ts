// `pamstack info`: versions, the tfjs backends available and the machine, for bug reports.
import type { Command } from 'commander';
import { createRequire } from 'node:module';
import os from 'node:os';
import { action, printJson } from '../command-kit.ts';

export function register(program: Command): void {
  program
    .command('info')
    .description('print pamstack version, Node version and machine (for bug reports)')
    .option('--json', 'print one JSON object')
    .action(
      action((opts: { json?: boolean }) => {
        const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
        const info = {
          pamstack: pkg.version,
          node: process.version,
          platform: `${os.platform()}-${os.arch()}`,
          cpus: os.cpus().length,
          memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
        };
        if (opts.json) printJson(info);
        else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(10)} ${v}`);
      }),
    );
}
