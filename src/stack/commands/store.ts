// `pamstack store`: export answers as the training commands' dataset, agreement statistics, queue import and seeding.
import type { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { makeCloud } from '../../core/pointcloud.ts';
import { AnswerSchema, cloudFromData, ItemSchema, MAX_NOTE_CHARS, type Answer, type CompareItem, type RankItem } from '../../core/protocol.ts';
import { TaskNameSchema } from '../../core/task.ts';
import { RANKINGS_FILE, writeStates, type CandidateState } from '../../preference/dataset.ts';
import { writeRecordsJsonl } from '../../store/export.ts';
import { seedFromWorld } from '../../store/seed-from-world.ts';
import { StoreError } from '../../store/store-error.ts';
import { DEFAULT_DB_PATH, type AddItemOptions } from '../../store/store.ts';
import { openPreferenceStore } from '../../store/store-api.ts';
import { action, CliError, intFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';

/** Segment-pair labels go here, beside rankings.jsonl and states.jsonl. */
export const SEGMENT_PAIRS_FILE = 'segment_pairs.jsonl';

const Db = z.string().min(1).default(DEFAULT_DB_PATH);

/** One line of `store import`: an item, or { item, gold?, minAnnotations?, priority?, disagreement? }. */
const ImportLine = z.union([
  ItemSchema,
  z.strictObject({
    item: ItemSchema,
    gold: AnswerSchema.optional(),
    minAnnotations: z.number().int().min(1).optional(),
    priority: z.number().optional(),
    disagreement: z.number().nullable().optional(),
  }),
]);

export function register(program: Command): void {
  const store = parentCommand(program, 'store', 'the annotation store: export answers, agreement stats, import and seed items');

  store
    .command('export')
    .description(`write ${RANKINGS_FILE}, ${SEGMENT_PAIRS_FILE} and states.jsonl into a dataset folder that train commands read`)
    .requiredOption('--out <dir>', 'dataset folder (created); files in it are replaced atomically')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--no-gold', 'leave out answers to gold items')
    .option('--originals', "also the annotators' answers to items a reviewer settled, marked annotation.original (by default a settled item gives only its settled label)")
    .option('--since <ms>', 'only answers stored at or after this time (ms since the epoch)', '0')
    .option('--json', 'print one JSON object with the counts')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(
          z.strictObject({
            out: z.string().min(1),
            db: Db,
            gold: z.boolean().default(true),
            originals: z.boolean().default(false),
            since: intFlag(0).default(0),
            json: z.boolean().default(false),
          }),
          raw,
        );
        const s = await openPreferenceStore(f.db);
        mkdirSync(f.out, { recursive: true });
        try {
          const opts = { includeGold: f.gold, since: f.since, originals: f.originals };
          const r = writeRecordsJsonl(await s.exportRecords({ ...opts, kind: 'ranking' }), join(f.out, RANKINGS_FILE));
          const p = writeRecordsJsonl(await s.exportRecords({ ...opts, kind: 'segment_pair' }), join(f.out, SEGMENT_PAIRS_FILE));
          const states = statesOf(await s.rankedItemPayloads());
          writeStates(f.out, states);
          const out = { out: f.out, rankings: r.rankings, segment_pairs: p.segmentPairs, states: states.length };
          if (f.json) printJson(out);
          else console.log(`${f.out}: ${out.rankings} rankings, ${out.segment_pairs} segment pairs, ${out.states} states`);
        } finally {
          await s.close();
        }
      }),
    );

  store
    .command('stats')
    .description('agreement per item and per annotator, gold accuracy, answer counts')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--json', 'print one JSON object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ db: Db, json: z.boolean().default(false) }), raw);
        const s = await openPreferenceStore(f.db);
        try {
          const st = await s.agreementStats();
          if (f.json) return printJson(st);
          console.log(`items answered: ${st.items.length}, mean agreement ${st.meanItemAgreement?.toFixed(3) ?? '—'}, Krippendorff's α ${st.rankAlpha?.toFixed(3) ?? '—'}`);
          process.stdout.write(`disagreements: ${st.review.disagreements} (${st.review.settled} settled, ${st.review.open} to settle)\n`);
          console.table(
            st.annotators.map((a) => ({
              annotator: a.annotator,
              submitted: a.submitted,
              skipped: a.skipped,
              undone: a.retracted,
              median_s: a.medianDurationMs === null ? '' : +(a.medianDurationMs / 1000).toFixed(1),
              gold: a.gold.answered ? `${a.gold.answered} @ ${a.gold.accuracy?.toFixed(2) ?? '—'}` : '',
              agreement: a.agreement?.toFixed(3) ?? '',
              alpha: a.rankAlpha?.toFixed(3) ?? '',
            })),
          );
        } finally {
          await s.close();
        }
      }),
    );

  store
    .command('disagreements')
    .description('items whose annotators disagree (two or more answers that differ), with every answer, for review')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--all', 'also the items a reviewer already settled')
    .option('--json', 'print one JSON object { disagreements: [...] } with every original answer')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ db: Db, all: z.boolean().default(false), json: z.boolean().default(false) }), raw);
        const s = await openPreferenceStore(f.db);
        try {
          const list = await s.disagreements({ includeSettled: f.all });
          if (f.json) return printJson({ disagreements: list });
          if (!list.length) return void process.stdout.write('no disagreements to settle\n');
          const rows = [
            ['item', 'task', 'answers', 'disagreement', 'the answers', 'settled'],
            ...list.map((d) => [
              d.itemId,
              d.task,
              String(d.answers),
              d.disagreement.toFixed(3),
              d.originals.map((o) => `${o.annotator}: ${answerText(o.answer)}`).join(' | '),
              d.settled ? `${answerText(d.settled.label)} by ${d.settled.reviewer}` : '',
            ]),
          ];
          const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
          process.stdout.write(rows.map((r) => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd()).join('\n') + '\n');
        } finally {
          await s.close();
        }
      }),
    );

  store
    .command('settle')
    .description("settle an item's disagreement with a label: the export then gives this label instead of the answers (which are kept)")
    .requiredOption('--item <id>', 'the item (see `store disagreements`)')
    .requiredOption('--label <json>', 'an answer to the item: {"kind":"compare","label":"left"} or {"kind":"rank","groups":[[2],[0,1]]}; short forms: "left" (a clip pair), [[2],[0,1]] (a ranking)')
    .requiredOption('--as <name>', 'the reviewer (a user with role reviewer or admin)')
    .option('--note <text>', 'why (kept with the label, exported)')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--json', 'print one JSON object with the settlement')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(
          z.strictObject({
            item: z.string().min(1),
            label: z.string().min(1),
            as: z.string().min(1),
            note: z.string().max(MAX_NOTE_CHARS).optional(),
            db: Db,
            json: z.boolean().default(false),
          }),
          raw,
        );
        let label: unknown;
        try {
          label = JSON.parse(f.label);
        } catch (e) {
          // A bare word is a clip pair's label (left, right, tie, cant_tell).
          if (/^[a-z_]+$/.test(f.label)) label = f.label;
          else throw new CliError(`--label: expected JSON (an answer to the item), received ${JSON.stringify(f.label)} (${(e as Error).message})`);
        }
        if (typeof label === 'string') label = { kind: 'compare', label };
        else if (Array.isArray(label)) label = { kind: 'rank', groups: label };
        const s = await openPreferenceStore(f.db);
        try {
          const reviewer = (await s.listUsers()).find((u) => u.name === f.as);
          if (!reviewer) throw new CliError(`--as: no user named ${JSON.stringify(f.as)}`);
          if (reviewer.disabled) throw new CliError(`--as: ${f.as} is disabled`);
          const r = await s.settle(reviewer, f.item, label, f.note);
          if (f.json) printJson({ itemId: f.item, settlement: r });
          else process.stdout.write(`${f.item}: settled by ${r.reviewer} as ${answerText(r.label)}\n`);
        } catch (e) {
          if (e instanceof StoreError) {
            const flag = e.field === 'itemId' ? '--item' : e.field === 'reviewer' ? '--as' : e.field === 'note' ? '--note' : '--label';
            throw new CliError(`${flag}: ${e.message}`);
          }
          throw e;
        } finally {
          await s.close();
        }
      }),
    );

  store
    .command('import')
    .description('queue items from a JSONL file (rank or compare items as in src/core/protocol.ts)')
    .requiredOption('--in <file>', 'JSONL: one item, or { item, gold?, minAnnotations?, priority?, disagreement? }, per line')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--min-annotations <n>', 'answers per item before it leaves the queue', '3')
    .option('--json', 'print one JSON object with the count')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(z.strictObject({ in: z.string().min(1), db: Db, minAnnotations: intFlag(1, 1000).default(3), json: z.boolean().default(false) }), raw);
        const lines = readFileSync(f.in, 'utf8').split('\n');
        // Every line is checked before the store is touched; then all items go in one transaction.
        const entries: { item: RankItem | CompareItem; opts: AddItemOptions }[] = [];
        const lineOf: number[] = [];
        lines.forEach((line, i) => {
          if (!line.trim()) return;
          let v: unknown;
          try {
            v = JSON.parse(line);
          } catch (e) {
            throw new CliError(`${f.in}:${i + 1}: not JSON (${(e as Error).message})`);
          }
          const r = ImportLine.safeParse(v);
          if (!r.success) throw new CliError(`${f.in}:${i + 1}: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
          const o = 'item' in r.data ? r.data : { item: r.data };
          entries.push({ item: o.item, opts: { minAnnotations: o.minAnnotations ?? f.minAnnotations, priority: o.priority, disagreement: o.disagreement, gold: o.gold } });
          lineOf.push(i + 1);
        });
        const s = await openPreferenceStore(f.db);
        try {
          await s.addItems(entries);
        } catch (e) {
          // addItems names the entry (items.<i>.<field>); the user knows the file's lines.
          const m = e instanceof StoreError ? /^items\.(\d+)(?:\.(.+))?$/.exec(e.field ?? '') : null;
          if (m) throw new CliError(`${f.in}:${lineOf[Number(m[1])]}: ${m[2] ? `${m[2]}: ` : ''}${(e as StoreError).detail}`);
          throw e;
        } finally {
          await s.close();
        }
        const added = entries.length;
        if (f.json) printJson({ added });
        else console.log(`queued ${added} items`);
      }),
    );

  store
    .command('seed')
    .description('queue states to rank and clip pairs to compare, made in the simulator (to try the app)')
    .requiredOption('--task <task>', 'e.g. rope-circle')
    .option('--db <file|url>', 'store: a SQLite file or a postgres:// URL', DEFAULT_DB_PATH)
    .option('--states <n>', 'states to rank', '6')
    .option('--pairs <n>', 'clip pairs to compare', '3')
    .option('--seed <n>', 'seed', '0')
    .option('--min-annotations <n>', 'answers per item before it leaves the queue', '3')
    .option('--gold <k>', 'make the first k states and k pairs gold items, answered by the scripted oracle (each candidate tried in the sim)', '0')
    .option('--json', 'print one JSON object with the counts')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(
          z.strictObject({
            task: TaskNameSchema,
            db: Db,
            states: intFlag(0, 10_000).default(6),
            pairs: intFlag(0, 10_000).default(3),
            seed: intFlag(0).default(0),
            minAnnotations: intFlag(1, 1000).default(3),
            gold: intFlag(0, 10_000).default(0),
            json: z.boolean().default(false),
          }),
          raw,
        );
        // Before the sim loads: a bad or unreachable --db is reported at once.
        const s = await openPreferenceStore(f.db);
        let world: Awaited<ReturnType<typeof import('../../../sim/index.ts').createWorld>> | undefined;
        try {
          const { scoreCandidatesInWorld } = await import('../../preference/candidate-oracle.ts');
          const sim = await import('../../../sim/index.ts');
          world = await sim.createWorld(f.task);
          const r = await seedFromWorld(s, world, {
            states: f.states,
            pairs: f.pairs,
            seed: f.seed,
            minAnnotations: f.minAnnotations,
            gold: f.gold,
            // The oracle ranks by the task score after each primitive (refused ones last).
            oracle: async (w, prims) => (await scoreCandidatesInWorld(w, prims)).map((x) => x.score),
          });
          if (f.json) printJson(r);
          else console.log(`queued ${r.rank} states to rank and ${r.compare} pairs to compare`);
        } finally {
          await s.close();
          world?.dispose();
        }
      }),
    );
}

/** An answer in a few characters, for tables: `left (clear)`, `2 > 0,1 > …`. */
function answerText(a: Answer): string {
  if (a.kind === 'compare') return a.strength ? `${a.label} (${a.strength})` : a.label;
  return a.groups.map((g) => g.join(',')).join(' > ') + (a.notComparable.length ? ` ?${a.notComparable.join(',')}` : '');
}

/** The states of ranked items (payload JSON, in queue order) in the dataset's states format. */
function statesOf(payloads: readonly string[]): CandidateState[] {
  const rows = payloads.map((payload) => ({ payload }));
  const out: CandidateState[] = [];
  for (const r of rows) {
    const it = JSON.parse(r.payload) as RankItem;
    if (!it.workspace) continue; // the dataset format needs the workspace; items queued without one are left out
    const { points } = cloudFromData(it.cloud);
    out.push({ stateId: it.stateId, task: it.task, workspace: it.workspace, cloud: makeCloud(points, 'table'), candidates: it.candidates.map((c) => c.primitive) });
  }
  return out;
}
