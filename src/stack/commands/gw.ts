// `pamstack gw --in FILE.json`: one Gromov–Wasserstein solve in the JSON contract of DESIGN.md.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { gwOutputFrom, gwRequestFrom, parseGwJson, solveGwRequest } from '../../transfer/index.ts';
import { CliError, action, parseFlags, printJson } from '../command-kit.ts';

const GwFlagsSchema = z.strictObject({
  in: z.string().min(1),
  json: z.boolean().optional(),
  exact: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('gw')
    .description('solve Gromov–Wasserstein between two metric spaces (entropic or conditional gradient)')
    .requiredOption('--in <file>', 'JSON: { C1: n×n, C2: m×m, p: [n], q: [m], epsilon, loss, solver }')
    .option('--json', 'print { T, gw, iterations, ms } as one JSON object')
    .option('--exact', 'entropic: POT 0.8.2\'s exact iterates (cold inner Sinkhorns, checks every 10th step) instead of the fast solver')
    .addHelpText(
      'after',
      '\nloss: "square_loss" | "kl_loss"; solver: "entropic" (needs epsilon > 0) | "cg" (ignores epsilon).\n' +
        'C1, C2 must be symmetric; p, q non-negative and summing to 1. ms is the solve time only.\n' +
        'entropic runs the fast solver by default (warm, inexact, over-relaxed inner Sinkhorns, extrapolated\n' +
        'outer steps): the same fixed point as POT\'s iterates; --exact runs POT\'s own rules.',
    )
    .action(
      action(async (opts: unknown) => {
        const flags = parseFlags(GwFlagsSchema, opts);
        let text: string;
        try {
          text = readFileSync(flags.in, 'utf8');
        } catch (e) {
          throw new CliError(`--in: cannot read ${flags.in} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        const req = gwRequestFrom(parseGwJson(text));
        // the fast solver's f32 products on ONNX Runtime where it loads (about twice the WebAssembly kernel's speed here)
        const productKernel = req.solver === 'entropic' && !flags.exact ? await (await import('../../nn/onnx-matmul.ts')).loadOrtMatmul() : null;
        let solved;
        try {
          solved = solveGwRequest(req, { exact: flags.exact ?? false, ...(productKernel ? { productKernel } : {}) });
        } finally {
          productKernel?.dispose();
        }
        const { result, ms } = solved;
        if (flags.json) {
          printJson(gwOutputFrom(result, ms));
          return;
        }
        const { n, m } = result;
        console.log(`solver      ${req.solver} (${req.loss}${req.solver === 'entropic' ? `, epsilon ${req.epsilon}, ${flags.exact ? 'exact POT iterates' : 'fast'}` : ''})`);
        console.log(`sizes       ${n} × ${m}`);
        if (productKernel) console.log(`products    ${productKernel.name}`);
        console.log(`gw          ${result.gw}`);
        console.log(`iterations  ${result.iterations}${result.converged ? '' : ' (cap reached)'}`);
        console.log(`marginals   rows ${result.marginalError.rows.toExponential(1)}, cols ${result.marginalError.cols.toExponential(1)}`);
        console.log(`ms          ${ms.toFixed(1)}`);
      }),
    );
}
