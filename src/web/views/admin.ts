// Admin view: the queue, answers per annotator (per day), median answer time, gold accuracy and agreement — the figures of `pamstack store stats`.
import type { AgreementStats } from '../../core/annotation-stats.ts';
import { debugHooks, h, toast, type AppContext, type View } from '../ui.ts';

const REFRESH_MS = 10_000;
const fmt = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));

export class AdminView implements View {
  readonly name = 'admin';
  readonly help: [string, string][] = [['R', 'refresh now']];
  #ctx!: AppContext;
  #root!: HTMLElement;
  #timer = 0;

  mount(root: HTMLElement, ctx: AppContext): void {
    this.#ctx = ctx;
    this.#root = h('div', { class: 'admin' }, h('p', {}, 'Loading the statistics…'));
    root.append(this.#root);
    const hooks = debugHooks();
    hooks.view = this.name;
    hooks.ready = false;
    void this.#refresh();
    this.#timer = window.setInterval(() => void this.#refresh(), REFRESH_MS);
  }

  unmount(): void {
    clearInterval(this.#timer);
  }

  onKey(e: KeyboardEvent): boolean {
    if ((e.key === 'r' || e.key === 'R') && !e.ctrlKey && !e.metaKey && !e.altKey) {
      void this.#refresh();
      return true;
    }
    return false;
  }

  async #refresh(): Promise<void> {
    try {
      const m = await this.#ctx.conn.request({ op: 'stats' });
      if (m.op !== 'stats') return;
      this.#render(m.stats as AgreementStats);
      const hooks = debugHooks();
      hooks.adminStats = m.stats;
      hooks.ready = true;
    } catch (e) {
      toast(`stats: ${(e as Error).message}`, 'error');
    }
  }

  #render(st: AgreementStats): void {
    const q = st.queue;
    const today = new Date().toISOString().slice(0, 10);
    const days = [...new Set(st.annotators.flatMap((a) => Object.keys(a.perDay)))].sort().slice(-7);
    const cell = (k: string, v: string | number) => h('td', { 'data-k': k }, String(v));
    const perDay = days.length
      ? [
          h('h3', {}, 'Answers per day (UTC)'),
          h(
            'table',
            { class: 'per-day' },
            h('tr', {}, h('th', {}, 'annotator'), ...days.map((d) => h('th', {}, d))),
            ...st.annotators.map((a) => h('tr', { 'data-annotator': a.annotator }, h('td', {}, a.annotator), ...days.map((d) => cell(d, a.perDay[d] ?? 0)))),
          ),
        ]
      : [];
    this.#root.replaceChildren(
      h('h2', {}, 'Annotation'),
      h(
        'div',
        { class: 'queue-stats' },
        ...(
          [
            ['open', q.open, 'items still to annotate'],
            ['complete', q.complete, 'items with enough answers'],
            ['gold', q.gold, 'gold items (known answers)'],
            ['leased', q.leased, 'items on someone’s screen now'],
            ['flagged', q.flagged, 'items flagged by annotators'],
            ['agreement', fmt(st.meanItemAgreement), 'mean agreement over items (pairwise)'],
            ['alpha', fmt(st.rankAlpha), "Krippendorff's α over the rankings (interval, fractional rank positions)"],
            ['to settle', st.review.open, 'disagreements no reviewer has settled yet (Review view)'],
            ['settled', st.review.settled, 'disagreements settled by a reviewer (the export uses their label)'],
          ] as const
        ).map(([k, v, title]) => h('div', { class: 'stat', 'data-k': k.replace(' ', '-'), title }, h('b', {}, String(v)), h('span', {}, k))),
      ),
      h('h3', {}, 'Annotators'),
      h(
        'table',
        { class: 'annotators' },
        h('tr', {}, ...['annotator', 'submitted', 'today', 'skipped', 'undone', 'median answer (s)', 'gold (n @ accuracy)', 'agreement', 'α (rankings)', "can't tell"].map((t) =>
            h('th', t.startsWith('α') ? { title: "Krippendorff's α over the candidates of the rank items this annotator answered, with every annotator's rankings of them" } : {}, t),
          ),
        ),
        ...st.annotators.map((a) =>
          h(
            'tr',
            { 'data-annotator': a.annotator },
            cell('annotator', a.annotator),
            cell('submitted', a.submitted),
            cell('today', a.perDay[today] ?? 0),
            cell('skipped', a.skipped),
            cell('undone', a.retracted),
            cell('median', a.medianDurationMs === null ? '—' : (a.medianDurationMs / 1000).toFixed(1)),
            cell('gold', a.gold.answered ? `${a.gold.answered} @ ${fmt(a.gold.accuracy, 2)}` : '—'),
            cell('agreement', fmt(a.agreement)),
            cell('alpha', fmt(a.rankAlpha)),
            cell('cantTell', a.cantTell),
          ),
        ),
      ),
      ...perDay,
      h('p', { class: 'dim' }, `Same figures as pamstack store stats · refreshed ${new Date().toLocaleTimeString()} (every ${REFRESH_MS / 1000} s, R now)`),
    );
  }
}
