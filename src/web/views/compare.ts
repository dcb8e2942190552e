// Compare view: two trajectory clips on one clock, side by side with linked cameras; left / right / tie / can't tell.
import * as THREE from 'three';
import { cloudFromData, type CompareAnswer, type CompareItem, type Segment } from '../../core/protocol.ts';
import type { SegmentLabel } from '../../core/preference.ts';
import { CloudLayer } from '../cloud-layer.ts';
import { frameOf, goalOverlay, goalText, pathLine, workspaceBox } from '../draw.ts';
import { answerInFlight, ItemQueue } from '../item-queue.ts';
import { FlagBox } from '../flag.ts';
import { showGuidelinesOnFirstVisit } from '../guidelines.ts';
import { debugHooks, h, toast, type AppContext, type View } from '../ui.ts';
import { Viewer } from '../viewer.ts';

export const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4] as const;
const SPEED_KEY = 'pam.speed';

export interface Clip {
  times: Float64Array;
  clouds: { points: Float32Array; rgb?: Uint8Array }[];
  gripper: (THREE.Vector3 | null)[];
  grasp: boolean[];
  duration: number;
}

export function decodeClip(s: Segment): Clip {
  const t0 = s.frames[0]!.t;
  const times = new Float64Array(s.frames.map((f) => f.t - t0));
  return {
    times,
    clouds: s.frames.map((f) => cloudFromData(f.cloud)),
    gripper: s.frames.map((f) => (f.gripper ? new THREE.Vector3(...f.gripper) : null)),
    grasp: s.frames.map((f) => f.grasp ?? false),
    duration: times[times.length - 1]!,
  };
}

/** Index of the last frame at or before t (binary search). */
function frameAt(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class ClipPane {
  readonly layer = new CloudLayer(16_384, 3);
  clip: Clip | null = null;
  shown = -1;
  #marker: THREE.Mesh;
  #markerMat = new THREE.MeshBasicMaterial({ color: 0xffffff });

  constructor() {
    this.#marker = new THREE.Mesh(new THREE.SphereGeometry(0.012, 16, 10), this.#markerMat);
    this.layer.scene.add(this.#marker);
  }

  load(clip: Clip, color: number): void {
    this.clip = clip;
    this.shown = -1;
    this.layer.clearOverlay();
    const path = clip.gripper.filter((g): g is THREE.Vector3 => g !== null);
    if (path.length > 1) this.layer.overlay.add(pathLine(path, color, 0.85));
  }

  /** Shows the frame for clock time t; returns whether anything changed. */
  seek(t: number): boolean {
    const c = this.clip;
    if (!c) return false;
    const i = frameAt(c.times, Math.min(t, c.duration));
    if (i === this.shown) return false;
    this.shown = i;
    const f = c.clouds[i]!;
    this.layer.setCloud(f.points, f.rgb);
    const g = c.gripper[i];
    this.#marker.visible = !!g;
    if (g) this.#marker.position.copy(g);
    this.#markerMat.color.set(c.grasp[i] ? 0xff9f1c : 0xffffff);
    return true;
  }
}

export class CompareView implements View {
  readonly name = 'compare';
  readonly help: [string, string][] = [
    ['←  /  →', 'left / right is clearly better'],
    ['Shift + ←  /  →', 'left / right is slightly better'],
    ['↑', 'tie: equally good'],
    ['↓', "can't tell"],
    ['Space', 'play / pause'],
    [',  /  .', 'step one frame back / forward'],
    ['[  /  ]', 'slower / faster (remembered)'],
    ['Home', 'back to the start'],
    ['S', 'skip this pair'],
    ['F', 'flag this pair (goes with the answer or skip)'],
    ['Z  or  Ctrl+Z', 'undo the last answer'],
  ];
  #ctx!: AppContext;
  #viewer!: Viewer;
  #left = new ClipPane();
  #right = new ClipPane();
  #queue!: ItemQueue;
  #panel!: HTMLElement;
  #bar!: HTMLElement;
  #item: CompareItem | null = null;
  #t = 0;
  #duration = 0;
  #steps: number[] = [];
  #playing = true;
  #speed = 1;
  #last = performance.now();
  #hold = 0;
  #slider!: HTMLInputElement;
  #timeText!: HTMLElement;
  #playBtn!: HTMLButtonElement;
  #speedText!: HTMLElement;
  #flag = new FlagBox();
  #watchNote: HTMLElement | null = null;

  mount(root: HTMLElement, ctx: AppContext): void {
    this.#ctx = ctx;
    const saved = Number(localStorage.getItem(SPEED_KEY));
    this.#speed = (SPEEDS as readonly number[]).includes(saved) ? saved : 1;
    const stage = h('div', { class: 'stage' });
    this.#slider = h('input', { type: 'range', min: 0, max: 1000, value: 0, class: 'scrub', 'aria-label': 'scrub' });
    this.#slider.addEventListener('input', () => {
      this.#playing = false;
      this.#seek((Number(this.#slider.value) / 1000) * this.#duration);
    });
    this.#slider.addEventListener('change', () => this.#slider.blur());
    this.#playBtn = h('button', { onclick: () => this.#togglePlay() }, '❚❚');
    this.#timeText = h('span', { class: 'time' });
    this.#speedText = h('span', { class: 'speed' });
    this.#bar = h(
      'div',
      { class: 'playbar' },
      this.#playBtn,
      h('button', { onclick: () => this.#step(-1), title: 'previous frame (,)' }, '‹'),
      h('button', { onclick: () => this.#step(1), title: 'next frame (.)' }, '›'),
      this.#slider,
      this.#timeText,
      h('button', { onclick: () => this.#setSpeed(-1), title: 'slower ([)' }, '−'),
      this.#speedText,
      h('button', { onclick: () => this.#setSpeed(1), title: 'faster (])' }, '+'),
    );
    const col = h('div', { class: 'stage-col' }, stage, this.#bar);
    this.#panel = h('aside', { class: 'panel' });
    root.append(col, this.#panel);
    this.#viewer = new Viewer(stage);
    this.#viewer.setPanes([
      { scene: this.#left.layer.scene, caption: 'Left  ←' },
      { scene: this.#right.layer.scene, caption: 'Right  →' },
    ]);
    this.#viewer.onFrame(() => this.#tick());
    this.#queue = new ItemQueue(ctx.conn, ['compare'], (why, detail) => {
      if (why === 'error') toast(detail ?? 'error', 'error');
      if (why === 'item') this.#show();
      this.#renderPanel();
      // In the same task as the new item's hooks, so nothing reads a countdown of the previous item.
      this.#renderWatch();
      this.#updateProgress();
    });
    const hooks = debugHooks();
    hooks.view = this.name;
    hooks.ready = false;
    hooks.clock = () => ({ t: this.#t, playing: this.#playing, speed: this.#speed, left: this.#left.shown, right: this.#right.shown });
    this.#renderBar();
    this.#renderPanel();
    void this.#queue.start();
  }

  unmount(): void {
    this.#queue.stop();
    this.#viewer.dispose();
  }

  onKey(e: KeyboardEvent): boolean {
    if ((e.key === 'z' || e.key === 'Z') && !e.altKey) {
      this.#undo();
      return true;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const answer: Record<string, SegmentLabel> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'tie', ArrowDown: 'cant_tell' };
    if (answer[e.key]) {
      this.#answer(answer[e.key]!, e.shiftKey ? 'slight' : 'clear');
      return true;
    }
    switch (e.key) {
      case ' ':
        this.#togglePlay();
        return true;
      case ',':
        this.#step(-1);
        return true;
      case '.':
        this.#step(1);
        return true;
      case '[':
        this.#setSpeed(-1);
        return true;
      case ']':
        this.#setSpeed(1);
        return true;
      case 'Home':
        this.#seek(0);
        return true;
      case 's':
      case 'S':
        this.#queue.skip(this.#flag.take());
        return true;
      case 'f':
      case 'F':
        this.#flag.open();
        return true;
    }
    return false;
  }

  /** Milliseconds of watching still needed before an answer counts (see StoreOptions.minWatch). */
  #watchLeftMs(): number {
    const it = this.#item;
    if (!it) return 0;
    const mw = this.#queue.minWatch;
    const need = mw === 'shorter-clip' ? Math.min(clipSpan(it.left), clipSpan(it.right)) * 1000 : mw;
    return Math.max(0, need - this.#queue.watchedMs());
  }

  #answer(label: SegmentLabel, strength: 'slight' | 'clear' = 'clear'): void {
    if (!this.#item) return;
    const left = this.#watchLeftMs();
    if (left > 0) {
      toast(`watch both clips once first (${(left / 1000).toFixed(1)} s left)`, 'info', 1500);
      return;
    }
    const flag = this.#flag.take();
    const a: CompareAnswer = { kind: 'compare', label };
    if (label === 'left' || label === 'right') a.strength = strength;
    if (flag) a.flag = flag;
    this.#queue.submit(a);
  }

  #undo(): void {
    const d = this.#queue.undo();
    toast(d ? 'undone: the previous pair is back' : 'nothing to undo', d ? 'ok' : 'info');
  }

  #togglePlay(): void {
    this.#playing = !this.#playing;
    if (this.#playing && this.#t >= this.#duration) this.#seek(0);
    this.#last = performance.now();
    this.#renderBar();
  }

  #setSpeed(dir: number): void {
    const i = Math.max(0, Math.min(SPEEDS.length - 1, SPEEDS.indexOf(this.#speed as (typeof SPEEDS)[number]) + dir));
    this.#speed = SPEEDS[i]!;
    localStorage.setItem(SPEED_KEY, String(this.#speed));
    this.#renderBar();
  }

  #step(dir: number): void {
    this.#playing = false;
    const s = this.#steps;
    if (!s.length) return;
    const t = this.#t;
    const next = dir > 0 ? s.find((x) => x > t + 1e-9) : [...s].reverse().find((x) => x < t - 1e-9);
    this.#seek(next ?? (dir > 0 ? s[s.length - 1]! : 0));
  }

  #seek(t: number): void {
    this.#t = Math.max(0, Math.min(this.#duration, t));
    this.#left.seek(this.#t);
    this.#right.seek(this.#t);
    this.#viewer.requestRender();
    this.#renderBar();
  }

  /** Advances the shared clock; holds the last frame half a second before looping. */
  #tick(): void {
    const now = performance.now();
    const dt = (now - this.#last) / 1000;
    this.#last = now;
    this.#renderWatch();
    if (!this.#playing || !this.#item) return;
    if (this.#t >= this.#duration) {
      this.#hold += dt;
      if (this.#hold < 0.5) return;
      this.#hold = 0;
      this.#seek(0);
      return;
    }
    const t = this.#t + dt * this.#speed;
    this.#t = Math.min(this.#duration, t);
    const l = this.#left.seek(this.#t);
    const r = this.#right.seek(this.#t);
    if (l || r) this.#viewer.requestRender();
    this.#renderBar();
  }

  #show(): void {
    const hooks = debugHooks();
    const it = this.#queue.current;
    this.#item = it && it.kind === 'compare' ? it : null;
    this.#left.layer.clearFixtures();
    this.#right.layer.clearFixtures();
    if (!this.#item) {
      for (const p of [this.#left, this.#right]) {
        p.clip = null;
        p.layer.setCloud(new Float32Array(0));
        p.layer.clearOverlay();
      }
      this.#viewer.requestRender();
      hooks.itemId = null;
      hooks.ready = true;
      return;
    }
    const l = decodeClip(this.#item.left);
    const r = decodeClip(this.#item.right);
    this.#left.load(l, 0x4e9af1);
    this.#right.load(r, 0xf28e2b);
    if (this.#item.workspace) {
      this.#left.layer.fixtures.add(workspaceBox(this.#item.workspace));
      this.#right.layer.fixtures.add(workspaceBox(this.#item.workspace));
    }
    if (this.#item.goal) {
      this.#left.layer.fixtures.add(goalOverlay(this.#item.goal));
      this.#right.layer.fixtures.add(goalOverlay(this.#item.goal));
    }
    this.#viewer.setGoalText(goalText(this.#item.goal));
    hooks.goal = this.#item.goal?.kind ?? null;
    hooks.shownLeft = this.#item.left.id;
    void showGuidelinesOnFirstVisit(this.#ctx, this.#item.task);
    this.#duration = Math.max(l.duration, r.duration);
    this.#steps = [...new Set([...l.times, ...r.times])].sort((a, b) => a - b);
    this.#playing = true;
    this.#hold = 0;
    this.#seek(0);
    // Frame both clips: bounds of their first and last clouds and the gripper paths.
    const box = new THREE.Box3();
    for (const c of [l, r])
      for (const i of [0, c.clouds.length - 1]) {
        const p = c.clouds[i]!.points;
        for (let k = 0; k + 2 < p.length; k += 3) box.expandByPoint(new THREE.Vector3(p[k], p[k + 1], p[k + 2]));
      }
    for (const c of [l, r]) for (const g of c.gripper) if (g) box.expandByPoint(g);
    const f = frameOf(box);
    this.#viewer.fit(f.center, f.radius);
    hooks.itemId = this.#item.id;
    hooks.ready = true;
  }

  /** The countdown until answers count; the answer buttons wait for it. */
  #renderWatch(): void {
    const left = this.#watchLeftMs();
    const waiting = left > 0;
    debugHooks().watching = waiting;
    const note = this.#watchNote;
    if (!note) return;
    const text = !waiting ? '' : answerInFlight() ? 'saving your last answer…' : `watch both clips once: ${(left / 1000).toFixed(1)} s`;
    if (note.textContent !== text) {
      note.textContent = text;
      for (const b of this.#panel.querySelectorAll<HTMLButtonElement>('button.answer')) b.disabled = waiting || !this.#item;
    }
  }

  #renderBar(): void {
    this.#playBtn.textContent = this.#playing ? '❚❚' : '▶';
    this.#playBtn.title = this.#playing ? 'pause (Space)' : 'play (Space)';
    if (document.activeElement !== this.#slider)
      this.#slider.value = String(this.#duration ? Math.round((this.#t / this.#duration) * 1000) : 0);
    this.#timeText.textContent = `${this.#t.toFixed(2)} / ${this.#duration.toFixed(2)} s`;
    this.#speedText.textContent = `${this.#speed}×`;
  }

  #updateProgress(): void {
    this.#ctx.setProgress(this.#queue.progressText());
  }

  #renderPanel(): void {
    const it = this.#item;
    const b = (label: SegmentLabel, text: string, key: string) =>
      h('button', { class: `answer a-${label}`, onclick: () => this.#answer(label), disabled: !it }, text, ' ', h('kbd', {}, key));
    this.#panel.replaceChildren(
      h('h2', {}, 'Compare ', it ? h('span', { class: 'sub' }, it.task) : null),
      it
        ? h('p', { class: 'mode' }, 'Which clip makes more progress on the task? Both play on one clock; drag to orbit both.')
        : h('p', { class: 'empty' }, this.#queue?.empty ? 'No pairs left for you right now.' : 'Loading…'),
      (this.#watchNote = h('p', { class: 'watch-note', 'aria-live': 'polite' })),
      h('div', { class: 'answers' }, b('left', 'Left better', '←'), b('right', 'Right better', '→'), b('tie', 'Tie', '↑'), b('cant_tell', "Can't tell", '↓')),
      h('p', { class: 'dim' }, 'Shift + ← / → : only slightly better. F: flag this pair.'),
      this.#flag.element,
      h(
        'div',
        { class: 'buttons' },
        h('button', { onclick: () => this.#queue.skip(this.#flag.take()), disabled: !it }, 'Skip ', h('kbd', {}, 'S')),
        h('button', { onclick: () => this.#undo(), disabled: !this.#queue?.history.length }, 'Undo ', h('kbd', {}, 'Z')),
      ),
    );
  }
}

/** Seconds a clip plays (first to last frame), as the store counts it for the watch time. */
function clipSpan(seg: Segment): number {
  return Math.max(0, seg.frames.at(-1)!.t - seg.frames[0]!.t);
}
