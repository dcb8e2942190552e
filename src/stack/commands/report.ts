// `pamstack report`: the evaluation page (HTML + markdown + SVG charts) from policies/<task>/eval.json.
import type { Command } from 'commander';
import { z } from 'zod';
import { action, parseFlags, printJson } from '../command-kit.ts';
import { readTaskEvals, writeReport } from '../report.ts';

const Flags = z.strictObject({
  policiesDir: z.string().min(1).default('policies'),
  out: z.string().min(1).default('report'),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('report')
    .description('write the evaluation report (per-task table, success chart, learning curve) as HTML and markdown')
    .option('--policies-dir <dir>', 'folder of policies/<task>/eval.json files', 'policies')
    .option('--out <dir>', 'output folder', 'report')
    .option('--json', 'print one JSON object { files, tasks } last')
    .action(
      action((raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const files = writeReport(f.policiesDir, f.out);
        const tasks = readTaskEvals(f.policiesDir).map((e) => e.task);
        if (f.json) printJson({ files, tasks });
        else console.log(`wrote ${files.length} files to ${f.out}/ (open ${f.out}/index.html); tasks: ${tasks.join(', ') || 'none'}`);
      }),
    );
}
