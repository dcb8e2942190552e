// Rank view: one state's cloud with its candidate actions; the annotator picks the best remaining until the rest are alike.
import * as THREE from 'three';
import { PRIMITIVE_POINT_NAMES, type Primitive } from '../../core/primitive.ts';
import { cloudFromData, type RankAnswer, type RankItem } from '../../core/protocol.ts';
import { CloudLayer } from '../cloud-layer.ts';
import { candidateColor, frameOf, goalOverlay, goalText, labelAnchor, paletteCss, pointMarker, primitiveGlyph, workspaceBox } from '../draw.ts';
import { ItemQueue } from '../item-queue.ts';
import { FlagBox } from '../flag.ts';
import { showGuidelinesOnFirstVisit } from '../guidelines.ts';
import { debugHooks, h, toast, type AppContext, type View } from '../ui.ts';
import { Viewer } from '../viewer.ts';
import { pickOnCloud } from './picking.ts';

type Mode = 'best' | 'tie' | 'nc' | 'ideal';

const KIND_TEXT = { pick_place: 'pick → place', sweep: 'sweep', fling: 'fling' } as const;

export class RankView implements View {
  readonly name = 'rank';
  readonly help: [string, string][] = [
    ['1 … 9, 0', 'next best candidate (1 = best of the remaining)'],
    ['↓ / ↑  then  Space', 'focus a candidate (any of up to 32), then place it as the next best'],
    ['Shift + Space', 'place the focused candidate tied with the previous choice'],
    ['Shift + digit  or  T, digit', 'tie with the previous choice'],
    ['N, digit', 'mark a candidate "not comparable"'],
    ['Backspace', 'take back the last choice on this state'],
    ['Enter', 'submit (unplaced candidates = "the rest look the same")'],
    ['I, then click twice', 'draw an ideal action on the cloud; B: it beats all'],
    ['S', 'skip this state'],
    ['F', 'flag this state (goes with the answer or skip)'],
    ['Z  or  Ctrl+Z', 'undo the last submitted answer'],
    ['drag / wheel', 'orbit / zoom'],
  ];
  #ctx!: AppContext;
  #flag = new FlagBox();
  #viewer!: Viewer;
  #layer = new CloudLayer(16_384, 4);
  #queue!: ItemQueue;
  #panel!: HTMLElement;
  #item: RankItem | null = null;
  #groups: number[][] = [];
  #nc = new Set<number>();
  #log: { kind: 'group' | 'tie' | 'nc'; i: number }[] = [];
  #mode: Mode = 'best';
  #ideal: { a?: THREE.Vector3; b?: THREE.Vector3 } = {};
  #idealBeatsAll = false;
  /** The candidate the arrow keys point at (Space places it), or null. */
  #focus: number | null = null;

  mount(root: HTMLElement, ctx: AppContext): void {
    this.#ctx = ctx;
    const stage = h('div', { class: 'stage' });
    this.#panel = h('aside', { class: 'panel' });
    root.append(stage, this.#panel);
    this.#viewer = new Viewer(stage);
    this.#viewer.setPanes([{ scene: this.#layer.scene }]);
    this.#viewer.renderer.domElement.addEventListener('click', (e) => this.#onClick(e));
    this.#queue = new ItemQueue(ctx.conn, ['rank'], (why, detail) => {
      if (why === 'error') toast(detail ?? 'error', 'error');
      if (why === 'item') this.#show();
      this.#renderPanel();
      this.#updateProgress();
    });
    const hooks = debugHooks();
    hooks.view = this.name;
    hooks.ready = false;
    hooks.project = (x: number, y: number, z: number) => this.#viewer.project(new THREE.Vector3(x, y, z));
    hooks.queue = () => ({ current: this.#queue.current?.id ?? null, buffer: this.#queue.buffer.map((i) => i.id), history: this.#queue.history.map((d) => d.item.id) });
    this.#renderPanel();
    void this.#queue.start();
  }

  unmount(): void {
    this.#queue.stop();
    this.#viewer.dispose();
  }

  onKey(e: KeyboardEvent): boolean {
    if (!this.#item) return false;
    const digit = /^Digit(\d)$/.exec(e.code);
    if (digit && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const i = digit[1] === '0' ? 9 : Number(digit[1]) - 1;
      this.#choose(i, e.shiftKey ? 'tie' : this.#mode);
      return true;
    }
    if ((e.key === 'z' || e.key === 'Z') && !e.altKey) {
      this.#undo();
      return true;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const n = this.#item.candidates.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.#setFocus(this.#focus === null ? (step > 0 ? 0 : n - 1) : (this.#focus + step + n) % n);
      return true;
    }
    if (e.key === ' ') {
      if (this.#focus === null) {
        toast('focus a candidate with ↓ / ↑ first', 'info');
        return true;
      }
      const i = this.#focus;
      this.#choose(i, e.shiftKey ? 'tie' : this.#mode);
      // On to the next unplaced candidate, so a long ranking is Space, ↓, Space, …
      const free = (j: number) => !this.#groups.some((g) => g.includes(j)) && !this.#nc.has(j);
      if (!free(i)) {
        for (let k = 1; k < n; k++) if (free((i + k) % n)) return (this.#setFocus((i + k) % n), true);
      }
      return true;
    }
    switch (e.key) {
      case 't':
      case 'T':
        this.#setMode(this.#mode === 'tie' ? 'best' : 'tie');
        return true;
      case 'n':
      case 'N':
        this.#setMode(this.#mode === 'nc' ? 'best' : 'nc');
        return true;
      case 'i':
      case 'I':
        this.#ideal = {};
        this.#setMode('ideal');
        this.#drawCandidates();
        return true;
      case 'b':
      case 'B':
        if (this.#ideal.b) {
          this.#idealBeatsAll = !this.#idealBeatsAll;
          this.#renderPanel();
        }
        return true;
      case 'Escape':
        if (this.#mode === 'ideal' && !this.#ideal.b) this.#ideal = {};
        this.#setMode('best');
        this.#drawCandidates();
        return true;
      case 'Backspace':
        this.#takeBack();
        return true;
      case 'Enter':
        this.#submit();
        return true;
      case 'f':
      case 'F':
        this.#flag.open();
        return true;
      case 's':
      case 'S':
        this.#queue.skip(this.#flag.take());
        return true;
    }
    return false;
  }

  #setFocus(i: number | null): void {
    this.#focus = i;
    debugHooks().rankFocus = i;
    this.#drawCandidates();
    this.#renderPanel();
    this.#panel.querySelector('ol.cands li.focused')?.scrollIntoView({ block: 'nearest' });
  }

  #setMode(m: Mode): void {
    this.#mode = m;
    this.#renderPanel();
  }

  #choose(i: number, mode: Mode): void {
    const it = this.#item!;
    if (i >= it.candidates.length) return;
    const placed = this.#groups.some((g) => g.includes(i));
    if (mode === 'nc') {
      if (placed) return toast(`candidate ${i + 1} is already ranked`, 'info');
      if (this.#nc.has(i)) this.#nc.delete(i);
      else {
        this.#nc.add(i);
        this.#log.push({ kind: 'nc', i });
      }
    } else {
      if (placed || this.#nc.has(i)) return toast(`candidate ${i + 1} is already placed (Backspace takes back)`, 'info');
      if (mode === 'tie' && this.#groups.length) {
        this.#groups[this.#groups.length - 1]!.push(i);
        this.#log.push({ kind: 'tie', i });
      } else {
        this.#groups.push([i]);
        this.#log.push({ kind: 'group', i });
      }
    }
    if (this.#mode !== 'ideal') this.#mode = 'best';
    this.#drawCandidates();
    this.#renderPanel();
  }

  #takeBack(): void {
    const last = this.#log.pop();
    if (!last) return;
    if (last.kind === 'nc') this.#nc.delete(last.i);
    else {
      const g = this.#groups[this.#groups.length - 1]!;
      g.pop();
      if (!g.length) this.#groups.pop();
    }
    this.#drawCandidates();
    this.#renderPanel();
  }

  #submit(): void {
    const it = this.#item;
    if (!it) return;
    if (!this.#groups.length) return toast('choose at least the best candidate (a digit) before Enter', 'info');
    const answer: RankAnswer = {
      kind: 'rank',
      groups: this.#groups.map((g) => [...g]),
      notComparable: [...this.#nc],
      idealBeatsAll: false,
    };
    if (this.#ideal.a && this.#ideal.b) {
      answer.ideal = { kind: it.primitive, a: vec(this.#ideal.a), b: vec(this.#ideal.b) };
      answer.idealBeatsAll = this.#idealBeatsAll;
    }
    const flag = this.#flag.take();
    if (flag) answer.flag = flag;
    this.#queue.submit(answer);
  }

  #undo(): void {
    const d = this.#queue.undo();
    if (!d) return toast('nothing to undo', 'info');
    if (d.answer?.kind === 'rank') {
      // Bring the old answer back for editing.
      this.#groups = d.answer.groups.map((g) => [...g]);
      this.#nc = new Set(d.answer.notComparable);
      this.#log = this.#groups.flatMap((g) => g.map((i, k) => ({ kind: k === 0 ? ('group' as const) : ('tie' as const), i })));
      for (const i of this.#nc) this.#log.push({ kind: 'nc', i });
      if (d.answer.ideal) {
        this.#ideal = { a: new THREE.Vector3(...d.answer.ideal.a), b: new THREE.Vector3(...d.answer.ideal.b) };
        this.#idealBeatsAll = d.answer.idealBeatsAll;
      }
      this.#drawCandidates();
      this.#renderPanel();
    }
    toast('undone: the previous state is back', 'ok');
  }

  #onClick(e: MouseEvent): void {
    if (this.#mode !== 'ideal' || !this.#item) return;
    const hit = pickOnCloud(this.#viewer, this.#layer, e.clientX, e.clientY, this.#item.workspace?.min[2] ?? 0);
    if (!hit) return;
    if (!this.#ideal.a || this.#ideal.b) this.#ideal = { a: hit.point };
    else {
      this.#ideal.b = hit.point;
      this.#mode = 'best';
    }
    this.#drawCandidates();
    this.#renderPanel();
  }

  /** A new current item: load its cloud, reset the answer state, frame the camera. */
  #show(): void {
    const hooks = debugHooks();
    const it = this.#queue.current;
    this.#item = it && it.kind === 'rank' ? it : null;
    this.#groups = [];
    this.#nc = new Set();
    this.#log = [];
    this.#mode = 'best';
    this.#ideal = {};
    this.#idealBeatsAll = false;
    this.#focus = null;
    this.#layer.clearFixtures();
    if (!this.#item) {
      this.#layer.setCloud(new Float32Array(0));
      this.#layer.clearOverlay();
      this.#viewer.clearLabels();
      this.#viewer.requestRender();
      hooks.itemId = null;
      hooks.ready = true;
      return;
    }
    const { points, rgb } = cloudFromData(this.#item.cloud);
    this.#layer.setCloud(points, rgb);
    if (this.#item.workspace) this.#layer.fixtures.add(workspaceBox(this.#item.workspace));
    if (this.#item.goal) this.#layer.fixtures.add(goalOverlay(this.#item.goal));
    this.#viewer.setGoalText(goalText(this.#item.goal));
    hooks.goal = this.#item.goal?.kind ?? null;
    void showGuidelinesOnFirstVisit(this.#ctx, this.#item.task);
    const f = frameOf(this.#layer.bounds, this.#item.candidates.map((c) => c.primitive));
    this.#viewer.fit(f.center, f.radius);
    this.#drawCandidates();
    hooks.itemId = this.#item.id;
    hooks.ready = true;
  }

  #drawCandidates(): void {
    const it = this.#item;
    this.#layer.clearOverlay();
    this.#viewer.clearLabels();
    if (!it) return;
    const n = it.candidates.length;
    it.candidates.forEach((c, i) => {
      const placed = this.#groups.some((g) => g.includes(i));
      const nc = this.#nc.has(i);
      const focus = this.#focus === i;
      this.#layer.overlay.add(primitiveGlyph(c.primitive, { color: nc ? 0x666666 : candidateColor(i, n), opacity: placed || nc ? 0.22 : this.#focus !== null && !focus ? 0.55 : 1, scale: focus ? 1.4 : 1 }));
      // Label priority: the focused one, then the unplaced ones in order, then the placed (overlaps hide the later).
      const prio = focus ? -1 : placed || nc ? n + i : i;
      this.#viewer.addLabel(0, labelAnchor(c.primitive), `${i + 1}`, `label cand${placed || nc ? ' faded' : ''}${focus ? ' focused' : ''}`, prio).style.setProperty('--c', paletteCss(i, n));
    });
    if (this.#ideal.a) this.#layer.overlay.add(pointMarker(this.#ideal.a, 0xffffff));
    if (this.#ideal.a && this.#ideal.b) {
      const p: Primitive = { kind: it.primitive, a: vec(this.#ideal.a), b: vec(this.#ideal.b) };
      this.#layer.overlay.add(primitiveGlyph(p, { color: 0xffffff, scale: 1.2 }));
      this.#viewer.addLabel(0, labelAnchor(p), 'ideal', 'label ideal');
    }
    this.#viewer.requestRender();
  }

  #updateProgress(): void {
    this.#ctx.setProgress(this.#queue.progressText());
  }

  #renderPanel(): void {
    const it = this.#item;
    const panel = this.#panel;
    panel.replaceChildren();
    if (!it) {
      panel.append(
        h('h2', {}, 'Rank'),
        h('p', { class: 'empty' }, this.#queue?.empty ? 'Nothing left to rank for you right now. New states appear here as they arrive.' : 'Loading…'),
        h('div', { class: 'buttons' }, h('button', { onclick: () => this.#undo() }, 'Undo last ', h('kbd', {}, 'Z'))),
      );
      return;
    }
    const rankOf = (i: number): string => {
      const gi = this.#groups.findIndex((g) => g.includes(i));
      if (gi >= 0) return `#${gi + 1}${this.#groups[gi]!.length > 1 ? ' =' : ''}`;
      return this.#nc.has(i) ? 'n/c' : '';
    };
    const names = PRIMITIVE_POINT_NAMES[it.primitive];
    const rows = it.candidates.map((c, i) =>
      h(
        'li',
        { class: `cand${rankOf(i) ? ' placed' : ''}${this.#focus === i ? ' focused' : ''}`, onclick: () => this.#choose(i, this.#mode), title: `${names[0]} (${fmt(c.primitive.a)}) → ${names[1]} (${fmt(c.primitive.b)})` },
        h('span', { class: 'swatch', style: `background:${paletteCss(i, it.candidates.length)}` }),
        // Digits reach the first ten; every candidate shows its number (↓/↑ and Space reach all).
        h('kbd', { title: i < 10 ? `key ${(i + 1) % 10}` : 'focus with ↓ / ↑, place with Space' }, i < 10 ? String((i + 1) % 10) : String(i + 1)),
        h('span', { class: 'what' }, KIND_TEXT[c.primitive.kind]),
        h('span', { class: 'score' }, c.score !== undefined ? c.score.toFixed(2) : ''),
        h('span', { class: 'rank' }, rankOf(i)),
      ),
    );
    const placed = new Set([...this.#groups.flat(), ...this.#nc]);
    const rest = it.candidates.map((_, i) => i).filter((i) => !placed.has(i));
    const order = this.#groups.map((g) => g.map((i) => i + 1).join(' = '));
    if (rest.length) order.push(`rest (${rest.map((i) => i + 1).join(', ')})`);
    const modeText: Record<Mode, string> = {
      best: 'Press the digit of the best remaining candidate.',
      tie: 'Tie: the next digit joins the previous choice.',
      nc: 'Not comparable: the next digit is set aside.',
      ideal: this.#ideal.a ? `Click the ${names[1]} point.` : `Click the ${names[0]} point on the cloud.`,
    };
    panel.append(
      h('h2', {}, 'Rank ', h('span', { class: 'sub' }, `${it.task} · ${it.stateId}`)),
      h('p', { class: `mode mode-${this.#mode}` }, modeText[this.#mode]),
      h('ol', { class: 'cands' }, ...rows),
      h('div', { class: 'ranking' }, h('b', {}, 'Ranking '), order.length ? order.join(' › ') : '—'),
      h(
        'div',
        { class: 'ideal' },
        h('b', {}, 'Ideal action '),
        this.#ideal.b ? `${fmt(vec(this.#ideal.a!))} → ${fmt(vec(this.#ideal.b))}` : this.#ideal.a ? 'first point set' : 'none (I)',
        this.#ideal.b ? h('label', {}, h('input', { type: 'checkbox', checked: this.#idealBeatsAll, tabindex: -1, onchange: () => (this.#idealBeatsAll = !this.#idealBeatsAll) }), ' beats all (B)') : null,
      ),
      h(
        'div',
        { class: 'buttons' },
        h('button', { class: 'primary', onclick: () => this.#submit(), disabled: !this.#groups.length }, 'Submit ', h('kbd', {}, '⏎')),
        h('button', { onclick: () => this.#queue.skip(this.#flag.take()) }, 'Skip ', h('kbd', {}, 'S')),
        h('button', { onclick: () => this.#undo(), disabled: !this.#queue.history.length }, 'Undo ', h('kbd', {}, 'Z')),
      ),
      this.#flag.element,
    );
  }
}

function vec(v: THREE.Vector3): [number, number, number] {
  return [round(v.x), round(v.y), round(v.z)];
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}

function fmt(p: readonly number[]): string {
  return p.map((v) => v.toFixed(3)).join(', ');
}
