// Progress for long work (training, rollouts, evaluation): a bar on a TTY, periodic lines otherwise.
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number, info?: Record<string, string | number>): void;
  stop(): void;
}

/** A progress bar on stderr; `quiet` disables it (e.g. under --json in scripts or tests). */
export function startProgress(label: string, total: number, opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet || process.env.PAMSTACK_QUIET === '1') return { tick() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {eta_formatted} {info}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      tick(n = 1, info) {
        bar.increment(n, { info: info ? fmtInfo(info) : '' });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let done = 0;
  let last = 0;
  const t0 = Date.now();
  return {
    tick(n = 1, info) {
      done += n;
      const now = Date.now();
      if (now - last > 2000 || done >= total) {
        last = now;
        process.stderr.write(`${label} ${done}/${total} (${((now - t0) / 1000).toFixed(1)} s)${info ? ' ' + fmtInfo(info) : ''}\n`);
      }
    },
    stop() {},
  };
}

function fmtInfo(info: Record<string, string | number>): string {
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
    .join(' ');
}
