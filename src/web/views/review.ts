// Review view: the items whose annotators disagree; one item as they saw it with each answer beside it, settled by a reviewer.
import * as THREE from 'three';
import { cloudFromData, type Answer, type Disagreement, type Item, type RankItem, type CompareItem } from '../../core/protocol.ts';
import type { SegmentLabel } from '../../core/preference.ts';
import { CloudLayer } from '../cloud-layer.ts';
import { candidateColor, frameOf, goalOverlay, goalText, labelAnchor, paletteCss, primitiveGlyph, workspaceBox } from '../draw.ts';
import { setCurrentTask } from '../guidelines.ts';
import { ProtocolError } from '../net.ts';
import { debugHooks, h, toast, type AppContext, type View } from '../ui.ts';
import { Viewer } from '../viewer.ts';
import { ClipPane, decodeClip } from './compare.ts';

const LABEL_TEXT: Record<SegmentLabel, string> = { left: 'left better', right: 'right better', tie: 'tie', cant_tell: "can't tell" };

/** An answer in words: `2 › 1 = 3 · rest` for a ranking (1-based, as the rank view shows), `left better (slight)` for a pair. */
export function answerText(a: Answer): string {
  if (a.kind === 'compare') return LABEL_TEXT[a.label] + (a.strength === 'slight' ? ' (slight)' : '');
  const s = a.groups.map((g) => g.map((i) => i + 1).join(' = ')).join(' › ');
  return s + (a.notComparable.length ? ` · n/c ${a.notComparable.map((i) => i + 1).join(', ')}` : '');
}

/**
 * Parses a typed ranking like `2 > 1 = 3` (candidate numbers 1…n as drawn, `>` or `›` between places,
 * `=` or `,` for ties) into groups of 0-based indices, or says what is wrong in the reviewer's numbers.
 */
export function parseRanking(text: string, n: number): number[][] | string {
  const groups = text
    .split(/[>›]/)
    .map((g) => g.split(/[=,]/).map((x) => x.trim()).filter(Boolean))
    .filter((g) => g.length);
  if (!groups.length) return 'type the order, best first: 2 > 1 = 3';
  const out: number[][] = [];
  const seen = new Set<number>();
  for (const g of groups) {
    const nums = g.map(Number);
    const bad = g.find((_, k) => !Number.isInteger(nums[k]) || nums[k]! < 1 || nums[k]! > n);
    if (bad !== undefined) return `ranking: "${bad}" is not a candidate; this state has 1–${n}`;
    const twice = nums.find((v) => seen.has(v));
    if (twice !== undefined) return `ranking: candidate ${twice} is placed twice`;
    for (const v of nums) seen.add(v);
    out.push(nums.map((v) => v - 1));
  }
  return out;
}

export class ReviewView implements View {
  readonly name = 'review';
  readonly help: [string, string][] = [
    ['↓ / ↑', 'next / previous disagreement'],
    ['1 … 9', "settle with that annotator's answer"],
    ['Space', 'play / pause the clips'],
    ['R', 'refresh the list'],
  ];
  #ctx!: AppContext;
  #viewer!: Viewer;
  #rankLayer = new CloudLayer(16_384, 4);
  #left = new ClipPane();
  #right = new ClipPane();
  #panel!: HTMLElement;
  #list: Disagreement[] = [];
  #current: Disagreement | null = null;
  #item: Item | null = null;
  #t = 0;
  #duration = 0;
  #playing = true;
  #last = performance.now();
  #note!: HTMLInputElement;
  #rankInput!: HTMLInputElement;
  #busy = false;

  mount(root: HTMLElement, ctx: AppContext): void {
    this.#ctx = ctx;
    const stage = h('div', { class: 'stage' });
    this.#panel = h('aside', { class: 'panel review' });
    root.append(stage, this.#panel);
    this.#viewer = new Viewer(stage);
    this.#viewer.onFrame(() => this.#tick());
    this.#note = h('input', { type: 'text', class: 'note', placeholder: 'note (why), optional', maxlength: 500, 'aria-label': 'note' });
    this.#rankInput = h('input', { type: 'text', class: 'rank-input', placeholder: 'e.g. 2 > 1 = 3', 'aria-label': 'ranking' });
    this.#rankInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.#settleTyped();
    });
    const hooks = debugHooks();
    hooks.view = this.name;
    hooks.ready = false;
    this.#render();
    void this.#refresh();
  }

  unmount(): void {
    this.#viewer.dispose();
  }

  onKey(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const i = this.#list.findIndex((d) => d.itemId === this.#current?.itemId);
      const n = this.#list.length;
      if (n) void this.#open(this.#list[(i + (e.key === 'ArrowDown' ? 1 : n - 1) + n) % n]!);
      return true;
    }
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit && this.#current) {
      const o = this.#current.originals[Number(digit[1]) - 1];
      if (o) void this.#settle(o.answer, `${o.annotator}'s answer`);
      return true;
    }
    if (e.key === ' ') {
      this.#playing = !this.#playing;
      this.#last = performance.now();
      return true;
    }
    if (e.key === 'r' || e.key === 'R') {
      void this.#refresh();
      return true;
    }
    return false;
  }

  async #refresh(): Promise<void> {
    try {
      const m = await this.#ctx.conn.request({ op: 'disagreements', includeSettled: false });
      if (m.op !== 'disagreements') return;
      this.#list = m.disagreements;
      debugHooks().disagreements = this.#list.map((d) => d.itemId);
      this.#ctx.setProgress(`${this.#list.length} to settle`);
      const keep = this.#list.find((d) => d.itemId === this.#current?.itemId);
      if (keep) this.#current = keep;
      else if (this.#list[0]) return this.#open(this.#list[0]);
      else this.#show(null, null);
    } catch (e) {
      toast(`disagreements: ${(e as Error).message}`, 'error');
    }
    this.#render();
  }

  async #open(d: Disagreement): Promise<void> {
    this.#current = d;
    debugHooks().ready = false;
    this.#render();
    try {
      const m = await this.#ctx.conn.request({ op: 'review.item', itemId: d.itemId });
      if (m.op !== 'review.item' || this.#current !== d) return;
      this.#show(d, m.item);
    } catch (e) {
      toast(`item ${d.itemId}: ${(e as Error).message}`, 'error');
    }
    this.#render();
  }

  /** Draws the item as the annotators saw it (in its own left/right order; answers are stored in that order). */
  #show(d: Disagreement | null, item: Item | null): void {
    const hooks = debugHooks();
    this.#item = item;
    this.#rankLayer.clearFixtures();
    this.#rankLayer.clearOverlay();
    this.#viewer.clearLabels();
    for (const p of [this.#left, this.#right]) p.layer.clearFixtures();
    if (!item) {
      this.#viewer.setPanes([{ scene: this.#rankLayer.scene }]);
      this.#rankLayer.setCloud(new Float32Array(0));
      this.#viewer.setGoalText(null);
      this.#viewer.requestRender();
      hooks.itemId = null;
      hooks.ready = true;
      return;
    }
    if (item.kind === 'rank') this.#showRank(item);
    else this.#showCompare(item);
    this.#viewer.setGoalText(goalText(item.goal));
    // `?` then shows this task's guidelines: what "better" means is what the reviewer settles by.
    setCurrentTask(item.task);
    hooks.goal = item.goal?.kind ?? null;
    hooks.itemId = d?.itemId ?? null;
    hooks.ready = true;
  }

  #showRank(it: RankItem): void {
    this.#viewer.setPanes([{ scene: this.#rankLayer.scene }]);
    const { points, rgb } = cloudFromData(it.cloud);
    this.#rankLayer.setCloud(points, rgb);
    if (it.workspace) this.#rankLayer.fixtures.add(workspaceBox(it.workspace));
    if (it.goal) this.#rankLayer.fixtures.add(goalOverlay(it.goal));
    const n = it.candidates.length;
    it.candidates.forEach((c, i) => {
      this.#rankLayer.overlay.add(primitiveGlyph(c.primitive, { color: candidateColor(i, n), opacity: 1, scale: 1 }));
      this.#viewer.addLabel(0, labelAnchor(c.primitive), `${i + 1}`, 'label cand', i).style.setProperty('--c', paletteCss(i, n));
    });
    const f = frameOf(this.#rankLayer.bounds, it.candidates.map((c) => c.primitive));
    this.#viewer.fit(f.center, f.radius);
    this.#duration = 0;
  }

  #showCompare(it: CompareItem): void {
    this.#viewer.setPanes([
      { scene: this.#left.layer.scene, caption: 'Left' },
      { scene: this.#right.layer.scene, caption: 'Right' },
    ]);
    const l = decodeClip(it.left);
    const r = decodeClip(it.right);
    this.#left.load(l, 0x4e9af1);
    this.#right.load(r, 0xf28e2b);
    for (const p of [this.#left, this.#right]) {
      if (it.workspace) p.layer.fixtures.add(workspaceBox(it.workspace));
      if (it.goal) p.layer.fixtures.add(goalOverlay(it.goal));
    }
    this.#duration = Math.max(l.duration, r.duration);
    this.#t = 0;
    this.#playing = true;
    this.#left.seek(0);
    this.#right.seek(0);
    const box = new THREE.Box3();
    for (const c of [l, r])
      for (const i of [0, c.clouds.length - 1]) {
        const p = c.clouds[i]!.points;
        for (let k = 0; k + 2 < p.length; k += 3) box.expandByPoint(new THREE.Vector3(p[k], p[k + 1], p[k + 2]));
      }
    for (const c of [l, r]) for (const g of c.gripper) if (g) box.expandByPoint(g);
    const f = frameOf(box);
    this.#viewer.fit(f.center, f.radius);
  }

  /** Plays the clip pair on one clock, looping. */
  #tick(): void {
    const now = performance.now();
    const dt = (now - this.#last) / 1000;
    this.#last = now;
    if (!this.#playing || this.#item?.kind !== 'compare' || this.#duration <= 0) return;
    this.#t = this.#t + dt > this.#duration + 0.5 ? 0 : this.#t + dt;
    const a = this.#left.seek(this.#t);
    const b = this.#right.seek(this.#t);
    if (a || b) this.#viewer.requestRender();
  }

  #settleTyped(): void {
    const it = this.#item;
    if (!it || it.kind !== 'rank') return;
    const groups = parseRanking(this.#rankInput.value, it.candidates.length);
    if (typeof groups === 'string') return toast(groups, 'error');
    void this.#settle({ kind: 'rank', groups, notComparable: [], idealBeatsAll: false }, 'the typed ranking');
  }

  async #settle(label: Answer, what: string): Promise<void> {
    const d = this.#current;
    if (!d || this.#busy) return;
    this.#busy = true;
    try {
      const note = this.#note.value.trim();
      const m = await this.#ctx.conn.request({ op: 'settle', itemId: d.itemId, label, ...(note ? { note } : {}) });
      if (m.op !== 'settled') return;
      toast(`${d.itemId} settled with ${what}`, 'ok');
      debugHooks().lastSettled = { itemId: d.itemId, label: m.settlement.label };
      this.#note.value = '';
      this.#rankInput.value = '';
      // On to the next one: the settled item leaves the list.
      const i = this.#list.indexOf(d);
      this.#list = this.#list.filter((x) => x !== d);
      debugHooks().disagreements = this.#list.map((x) => x.itemId);
      this.#ctx.setProgress(`${this.#list.length} to settle`);
      const next = this.#list[Math.min(i, this.#list.length - 1)];
      if (next) await this.#open(next);
      else {
        this.#current = null;
        this.#show(null, null);
        this.#render();
      }
    } catch (e) {
      // The store's message already starts with the field; ProtocolError adds it once more.
      const text = e instanceof ProtocolError && e.field ? e.message.replace(`${e.field}: ${e.field}: `, `${e.field}: `) : (e as Error).message;
      toast(`settle: ${text}`, 'error', 6000);
    } finally {
      this.#busy = false;
    }
  }

  #render(): void {
    const d = this.#current;
    const list = h(
      'table',
      { class: 'disagreements' },
      h('tr', {}, h('th', {}, 'item'), h('th', {}, 'task'), h('th', { title: 'submitted answers' }, 'n'), h('th', { title: 'disagreement: 1 − agreement' }, 'disagr.')),
      ...this.#list.map((x) =>
        h(
          'tr',
          { class: x === d ? 'selected' : '', 'data-item': x.itemId, onclick: () => void this.#open(x) },
          h('td', { class: 'id', title: x.itemId }, x.itemId),
          h('td', { class: 'task', title: x.task }, x.task),
          h('td', {}, String(x.answers)),
          h('td', {}, x.disagreement.toFixed(2)),
        ),
      ),
    );
    const it = this.#item && d && this.#item.id === d.itemId ? this.#item : null;
    const n = it?.kind === 'rank' ? it.candidates.length : 0;
    const swatches = (a: Answer) =>
      a.kind === 'rank'
        ? h('span', { class: 'order' }, ...a.groups.flatMap((g, gi) => [gi ? ' › ' : '', ...g.flatMap((c, k) => [k ? ' = ' : '', h('b', { style: `color:${paletteCss(c, n)}` }, String(c + 1))])]))
        : h('span', { class: `order l-${a.label}` }, answerText(a));
    const detail = d
      ? [
          h('h3', {}, `${d.kind === 'rank' ? 'Ranking' : 'Clip pair'} `, h('span', { class: 'sub' }, `${d.task} · ${d.itemId}`)),
          h('p', { class: 'dim' }, d.kind === 'rank' ? 'Numbers are the candidates drawn on the cloud; best first.' : 'Left and right as the item stores them; the answers below are in this order.'),
          h(
            'ol',
            { class: 'originals' },
            ...d.originals.map((o, k) =>
              h(
                'li',
                { 'data-annotator': o.annotator },
                h('span', { class: 'who' }, o.annotator),
                swatches(o.answer),
                h('button', { class: 'use', disabled: !it, onclick: () => void this.#settle(o.answer, `${o.annotator}'s answer`) }, 'Use ', h('kbd', {}, String(k + 1))),
                o.answer.flag ? h('span', { class: 'flag' }, `⚑ ${o.answer.flag.reason}${o.answer.flag.comment ? `: ${o.answer.flag.comment}` : ''}`) : null,
              ),
            ),
          ),
          h('h3', {}, 'Or settle with'),
          d.kind === 'compare'
            ? h(
                'div',
                { class: 'answers' },
                ...(['left', 'right', 'tie', 'cant_tell'] as const).map((l) =>
                  h('button', { class: `settle-label s-${l}`, disabled: !it, onclick: () => void this.#settle({ kind: 'compare', label: l }, LABEL_TEXT[l]) }, LABEL_TEXT[l]),
                ),
              )
            : h('div', { class: 'buttons' }, this.#rankInput, h('button', { class: 'settle-typed', disabled: !it, onclick: () => this.#settleTyped() }, 'Settle')),
          this.#note,
        ]
      : [h('p', { class: 'empty' }, this.#list.length ? 'Choose a disagreement.' : 'No disagreements to settle.')];
    this.#panel.replaceChildren(h('h2', {}, 'Review ', h('span', { class: 'sub' }, `${this.#list.length} to settle`)), list, ...detail);
  }
}
