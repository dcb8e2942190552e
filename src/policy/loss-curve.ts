// The training curves as a small standalone SVG (train and validation ε-MSE per epoch, log scale).
import type { HistoryRow } from './checkpoint.ts';

/** An SVG plot of train (blue) and validation (orange) loss against epoch, y on a log10 axis. */
export function lossCurveSvg(history: readonly HistoryRow[], title = 'policy training loss (ε-MSE)'): string {
  const W = 640;
  const H = 360;
  const L = 64;
  const R = 16;
  const T = 36;
  const B = 44;
  const series: { name: string; color: string; pts: [number, number][] }[] = [
    { name: 'train', color: '#1f77b4', pts: history.map((h) => [h.epoch, h.trainLoss] as [number, number]) },
    { name: 'validation', color: '#ff7f0e', pts: history.filter((h) => h.valLoss !== null).map((h) => [h.epoch, h.valLoss!] as [number, number]) },
  ];
  const all = series.flatMap((s) => s.pts).filter(([, y]) => y > 0 && Number.isFinite(y));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  if (!all.length) return `${head}\n<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data yet</text>\n</svg>\n`;
  const x0 = Math.min(...all.map(([x]) => x));
  const x1 = Math.max(x0 + 1, ...all.map(([x]) => x));
  const ly = all.map(([, y]) => Math.log10(y));
  let y0 = Math.floor(Math.min(...ly) * 4) / 4;
  let y1 = Math.ceil(Math.max(...ly) * 4) / 4;
  if (y1 - y0 < 0.25) {
    y0 -= 0.125;
    y1 += 0.125;
  }
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (Math.log10(y) - y0) / (y1 - y0)) * (H - T - B);
  const parts = [head];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`);
  for (let e = Math.ceil(y0); e <= Math.floor(y1); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      const lv = Math.log10(v);
      if (lv < y0 || lv > y1) continue;
      const y = py(v).toFixed(1);
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(2)}</text>`);
    }
  }
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const x = x0 + ((x1 - x0) * i) / ticks;
    parts.push(`<text x="${px(x).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">epoch</text>`);
  series.forEach((s, i) => {
    const pts = s.pts.filter(([, y]) => y > 0 && Number.isFinite(y));
    if (pts.length) {
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    parts.push(`<rect x="${W - R - 110}" y="${T + 8 + i * 18}" width="12" height="3" fill="${s.color}"/><text x="${W - R - 92}" y="${T + 12 + i * 18}" dominant-baseline="middle">${s.name}</text>`);
  });
  parts.push('</svg>\n');
  return parts.join('\n');
}
