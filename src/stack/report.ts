// `pamstack report`: one page (HTML + markdown) with each task's evaluation table, a success-rate
// chart and the policy's learning curve, from the policies/<task>/eval.json files the rebuild wrote.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalRow } from './flywheel/rebuild.ts';

export interface TaskEval {
  task: string;
  table: EvalRow[];
  wall: number;
  profile: { evalEpisodes: number; evalSeed: number };
}

/** Every policies/<task>/eval.json under `policiesDir`. */
export function readTaskEvals(policiesDir: string): TaskEval[] {
  if (!existsSync(policiesDir)) return [];
  return readdirSync(policiesDir)
    .filter((t) => existsSync(join(policiesDir, t, 'eval.json')))
    .sort()
    .map((t) => JSON.parse(readFileSync(join(policiesDir, t, 'eval.json'), 'utf8')) as TaskEval);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of success rate per method (SVG, no dependency). */
export function successChartSvg(task: string, rows: EvalRow[]): string {
  const W = 640;
  const rowH = 26;
  const L = 150;
  const T = 34;
  const H = T + rows.length * rowH + 30;
  const bar = (v: number) => Math.max(0, Math.min(1, v)) * (W - L - 70);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(task)}: success rate by method</text>`,
  ];
  rows.forEach((r, i) => {
    const y = T + i * rowH;
    const colour = r.method.startsWith('ras') ? '#2ca02c' : r.method === 'expert' ? '#7f7f7f' : r.method === 'random' ? '#d62728' : '#1f77b4';
    parts.push(`<text x="${L - 8}" y="${y + 16}" text-anchor="end">${esc(r.method)}</text>`);
    parts.push(`<rect x="${L}" y="${y + 4}" width="${bar(r.result.success_rate).toFixed(1)}" height="${rowH - 8}" fill="${colour}"/>`);
    parts.push(`<text x="${L + bar(r.result.success_rate) + 6}" y="${y + 16}">${(r.result.success_rate * 100).toFixed(0)} %</text>`);
  });
  parts.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${H - 26}" stroke="#333"/>`, '</svg>', '');
  return parts.join('\n');
}

/** Writes `outDir/index.html`, `outDir/report.md` and the SVGs; returns the written paths. */
export function writeReport(policiesDir: string, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const evals = readTaskEvals(policiesDir);
  const written: string[] = [];
  const md: string[] = ['# pamstack evaluation report', ''];
  const html: string[] = [
    '<!doctype html><meta charset="utf-8"><title>pamstack evaluation report</title>',
    '<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child,td:nth-child(2){text-align:left}</style>',
    '<h1>pamstack evaluation report</h1>',
  ];
  if (!evals.length) {
    md.push(`No policies/<task>/eval.json under ${policiesDir}: run \`npm run policies:rebuild\` first.`);
    html.push(`<p>No evaluations found under ${esc(policiesDir)}: run <code>npm run policies:rebuild</code> first.</p>`);
  }
  for (const e of evals) {
    const chart = `${e.task}-success.svg`;
    writeFileSync(join(outDir, chart), successChartSvg(e.task, e.table));
    written.push(join(outDir, chart));
    const curveSrc = join(policiesDir, e.task, 'sl', 'loss.svg');
    const curve = existsSync(curveSrc) ? `${e.task}-sl-loss.svg` : null;
    if (curve) {
      copyFileSync(curveSrc, join(outDir, curve));
      written.push(join(outDir, curve));
    }
    const seeds = `${e.profile.evalEpisodes} episodes, seeds ${e.profile.evalSeed}…${e.profile.evalSeed + e.profile.evalEpisodes - 1}`;
    const f3 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
    md.push(`## ${e.task} (${seeds})`, '', '| method | what | success | mean steps | IoU | coverage |', '|---|---|---|---|---|---|');
    html.push(`<h2>${esc(e.task)} <small>(${seeds})</small></h2><table><tr><th>method</th><th>what</th><th>success</th><th>mean steps</th><th>IoU</th><th>coverage</th></tr>`);
    for (const r of e.table) {
      const cells = [r.method, r.what, `${(r.result.success_rate * 100).toFixed(0)} %`, r.result.mean_steps.toFixed(2), f3(r.result.metrics.iou), f3(r.result.metrics.coverage)];
      md.push(`| ${cells.join(' | ')} |`);
      html.push(`<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
    }
    md.push('', `![success](${chart})`, ...(curve ? ['', `![SL learning curve](${curve})`] : []), '');
    html.push('</table>', `<p><img src="${chart}" alt="success rate chart"></p>`, ...(curve ? [`<p><img src="${curve}" alt="learning curve"></p>`] : []));
  }
  writeFileSync(join(outDir, 'report.md'), md.join('\n'));
  writeFileSync(join(outDir, 'index.html'), html.join('\n'));
  written.push(join(outDir, 'report.md'), join(outDir, 'index.html'));
  return written;
}
