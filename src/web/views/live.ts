// Live view: the current cloud, the candidates with their scores and the chosen action, streamed as binary frames;
// during a primitive, motion frames move the object's points and the tool markers.
import * as THREE from 'three';
import { decodeLiveFrame, decodeMotionFrame, liveFrameType, MOTION_FRAME_TYPE, type LiveFrameView, type LiveMeta, type MotionFrameView } from '../../core/protocol.ts';
import { CloudLayer } from '../cloud-layer.ts';
import { MotionLayer } from '../motion-layer.ts';
import { candidateColor, CHOSEN_COLOR, frameOf, goalOverlay, goalText, labelAnchor, paletteCss, primitiveGlyph, workspaceBox } from '../draw.ts';

/** Candidates drawn (and labelled) when not showing all: the best by score, plus the chosen and the focused one. */
export const LIVE_TOP_K = 10;
import { setCurrentTask } from '../guidelines.ts';
import { debugHooks, h, type AppContext, type View } from '../ui.ts';
import { Viewer } from '../viewer.ts';

/** Rolling frame statistics, as the bench reads them through window.__pam.live. */
export interface LiveStatsView {
  frames: number;
  /** Milliseconds spent per drawn frame (last one): decoding + copying into the buffers, and drawing. */
  consumeMs: number;
  renderMs: number;
  /** Sums over all drawn frames (for means). */
  consumeTotalMs: number;
  renderTotalMs: number;
  /** Frames lost between the server's sequence numbers (dropped for a slow link, or skipped by latest-wins here). */
  skipped: number;
  fps: number;
  latencyMs: number[];
  lastSeq: number;
  points: number;
  /** Motion frames drawn (the object moving during a primitive), and the sim time of the last one, s. */
  motionFrames: number;
  motionStamp: number;
}

export class LiveView implements View {
  readonly name: string = 'live';
  readonly help: [string, string][] = [
    ['drag / wheel', 'orbit / zoom'],
    ['F', 'frame the cloud'],
    ['→ / ↓  and  ← / ↑', 'focus the next / previous candidate (best score first)'],
    ['V', 'all candidates / the top 10 only'],
    ['Esc', 'no focus'],
  ];
  protected ctx!: AppContext;
  protected viewer!: Viewer;
  protected layer = new CloudLayer(65_536, 2);
  /** The object and tools during a primitive; shown instead of the cloud until the next cloud frame. */
  protected motion = new MotionLayer();
  /** Drawn over the cloud by subclasses (teleop markers); kept across frames. */
  protected extra = new THREE.Group();
  protected panel!: HTMLElement;
  protected meta: LiveMeta | null = null;
  protected boxColor = 0x8a93a3;
  #pending: ArrayBuffer | null = null;
  #pendingMotion: ArrayBuffer | null = null;
  #metaKey = '';
  #framed = false;
  #stats: LiveStatsView = {
    frames: 0, consumeMs: 0, renderMs: 0, consumeTotalMs: 0, renderTotalMs: 0, skipped: 0, fps: 0, latencyMs: [], lastSeq: 0, points: 0,
    motionFrames: 0, motionStamp: 0,
  };
  #consumedAt = 0;
  #renderedAt: number[] = [];
  #frameSentAt = 0;
  #frameSeq = 0;
  #offLive: (() => void) | null = null;
  #info!: HTMLElement;
  #statsEl!: HTMLElement;
  #sync = new URLSearchParams(location.search).has('sync');
  /** Show every candidate, not only the top LIVE_TOP_K. */
  #showAll = false;
  /** Position in the score order of the focused candidate, or null. */
  #focus: number | null = null;
  #statsTimer = 0;

  mount(root: HTMLElement, ctx: AppContext): void {
    this.ctx = ctx;
    const stage = h('div', { class: 'stage' });
    this.panel = h('aside', { class: 'panel' });
    root.append(stage, this.panel);
    this.viewer = new Viewer(stage);
    this.layer.scene.add(this.extra, this.motion.group);
    this.viewer.setPanes([{ scene: this.layer.scene }]);
    this.viewer.onFrame(() => this.#consume());
    this.viewer.onRendered(() => this.#rendered());
    this.#offLive = ctx.onLive((buf) => {
      // Latest frame of each kind wins: an unrendered older one is simply replaced.
      if (liveFrameType(buf) === MOTION_FRAME_TYPE) this.#pendingMotion = buf;
      else this.#pending = buf;
    });
    void ctx.conn.setLive(true).catch(() => {});
    const hooks = debugHooks();
    hooks.view = this.name;
    hooks.ready = true;
    hooks.itemId = null;
    hooks.live = this.#stats;
    hooks.project = (x: number, y: number, z: number) => this.viewer.project(new THREE.Vector3(x, y, z));
    hooks.cloudPoint = (i: number) => this.layer.pointAt(i).toArray();
    hooks.cloudCount = () => this.layer.count;
    hooks.motionTool = (i: number) => this.motion.toolAt(i);
    this.#info = h('div', { class: 'live-info' });
    this.#statsEl = h('div', { class: 'live-stats' });
    this.renderPanel();
    this.#statsTimer = window.setInterval(() => this.#renderStats(), 500);
  }

  unmount(): void {
    this.#offLive?.();
    clearInterval(this.#statsTimer);
    void this.ctx.conn.setLive(false).catch(() => {});
    this.viewer.dispose();
  }

  onKey(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    if (e.key === 'f' || e.key === 'F') {
      this.frameCamera();
      return true;
    }
    const n = this.meta?.candidates?.length ?? 0;
    if (n && (e.key === 'ArrowRight' || e.key === 'ArrowDown' || e.key === 'ArrowLeft' || e.key === 'ArrowUp')) {
      const step = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : -1;
      this.#setFocus(this.#focus === null ? (step > 0 ? 0 : n - 1) : (this.#focus + step + n) % n);
      return true;
    }
    if (e.key === 'v' || e.key === 'V') {
      this.#showAll = !this.#showAll;
      this.#redrawCandidates();
      return true;
    }
    if (e.key === 'Escape' && this.#focus !== null) {
      this.#setFocus(null);
      return true;
    }
    return false;
  }

  #setFocus(pos: number | null): void {
    this.#focus = pos;
    this.#redrawCandidates();
    this.panel.querySelector('ol.cands li.focused')?.scrollIntoView({ block: 'nearest' });
  }

  #redrawCandidates(): void {
    if (!this.meta) return;
    this.#drawMeta(this.meta);
    this.#renderInfo();
    this.viewer.requestRender();
  }

  /** Candidate indices best score first (the chosen one first of all; unscored last, in their order). */
  #scoreOrder(m: LiveMeta): number[] {
    const c = m.candidates ?? [];
    return c
      .map((_, i) => i)
      .sort((a, b) => (m.chosen === a ? -1 : m.chosen === b ? 1 : (c[b]!.score ?? -Infinity) - (c[a]!.score ?? -Infinity) || a - b));
  }

  protected frameCamera(): void {
    const f = frameOf(this.layer.bounds, this.meta?.candidates?.map((c) => c.primitive) ?? []);
    this.viewer.fit(f.center, f.radius);
  }

  /** Called when a frame's metadata changed (new candidates, new chosen action). */
  protected onMeta(): void {
    this.renderPanel();
  }

  /** Decodes the newest frames (if any) into the preallocated buffers just before rendering. */
  #consume(): void {
    const cloud = this.#pending;
    const motion = this.#pendingMotion;
    if (!cloud && !motion) return;
    this.#pending = null;
    this.#pendingMotion = null;
    const t0 = performance.now();
    const cloudSeq = cloud ? this.#consumeCloud(cloud) : 0;
    // Motion older than the cloud that arrived with it is stale (the primitive is over).
    if (motion && (!cloud || new DataView(motion).getUint32(4, true) > cloudSeq)) this.#consumeMotion(motion);
    this.viewer.requestRender();
    this.#consumedAt = performance.now();
    this.#stats.consumeMs = this.#consumedAt - t0;
    this.#stats.consumeTotalMs += this.#stats.consumeMs;
  }

  /** Counts the frames the server's sequence skipped, and marks `seq` to be acknowledged once drawn. */
  #sequence(seq: number, sentAt: number): void {
    if (this.#stats.lastSeq && seq > this.#stats.lastSeq + 1) this.#stats.skipped += seq - this.#stats.lastSeq - 1;
    this.#stats.lastSeq = seq;
    this.#frameSentAt = sentAt;
    this.#frameSeq = Math.max(this.#frameSeq, seq);
  }

  #consumeMotion(buf: ArrayBuffer): void {
    let f: MotionFrameView;
    try {
      f = decodeMotionFrame(buf);
    } catch (e) {
      console.error('pamstack: bad motion frame', e);
      return;
    }
    this.#sequence(f.seq, f.sentAt);
    this.motion.set(f.points, f.tools, f.holding);
    this.layer.points.visible = false;
    this.#stats.motionFrames++;
    this.#stats.motionStamp = f.stamp;
  }

  /** Draws a cloud frame; returns its seq (0 when it did not decode). */
  #consumeCloud(buf: ArrayBuffer): number {
    let f: LiveFrameView;
    try {
      f = decodeLiveFrame(buf);
    } catch (e) {
      console.error('pamstack: bad live frame', e);
      return 0;
    }
    this.#sequence(f.seq, f.replay ? 0 : f.sentAt);
    this.#stats.points = f.n;
    this.layer.setCloud(f.points, f.rgb);
    this.layer.points.visible = true;
    this.motion.hide();
    const key = JSON.stringify([f.meta.candidates, f.meta.chosen, f.meta.action, f.meta.workspace, f.meta.goal]);
    this.meta = f.meta;
    if (key !== this.#metaKey) {
      this.#metaKey = key;
      this.#drawMeta(f.meta);
      this.onMeta();
    } else this.#renderInfo();
    if (!this.#framed && f.n > 0) {
      this.#framed = true;
      this.frameCamera();
    }
    return f.seq;
  }

  #rendered(): void {
    if (!this.#frameSeq) return;
    if (this.#sync) {
      // Bench mode: wait until the pixels exist, so the latency covers the whole draw.
      const gl = this.viewer.renderer.getContext();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    }
    this.#stats.renderMs = performance.now() - this.#consumedAt;
    this.#stats.renderTotalMs += this.#stats.renderMs;
    // Drawn: the server may send the next frame (flow control, see LIVE_WINDOW).
    this.ctx.conn.ackLive(this.#frameSeq);
    this.#frameSeq = 0;
    if (!this.#frameSentAt) return;
    const now = Date.now();
    const lat = now - this.#frameSentAt;
    this.#frameSentAt = 0;
    const s = this.#stats;
    s.frames++;
    s.latencyMs.push(lat);
    if (s.latencyMs.length > 600) s.latencyMs.splice(0, s.latencyMs.length - 600);
    this.#renderedAt.push(now);
    while (this.#renderedAt.length && this.#renderedAt[0]! < now - 1000) this.#renderedAt.shift();
    s.fps = this.#renderedAt.length;
  }

  #drawMeta(m: LiveMeta): void {
    this.layer.clearOverlay();
    this.layer.clearFixtures();
    this.viewer.clearLabels();
    if (m.workspace) this.layer.fixtures.add(workspaceBox(m.workspace, this.boxColor));
    if (m.goal) this.layer.fixtures.add(goalOverlay(m.goal));
    this.viewer.setGoalText(m.goal ? goalText(m.goal) : null);
    debugHooks().goal = m.goal?.kind ?? null;
    if (m.task) setCurrentTask(m.task);
    const cands = m.candidates ?? [];
    const n = cands.length;
    const order = this.#scoreOrder(m);
    if (this.#focus !== null && this.#focus >= n) this.#focus = null;
    const focused = this.#focus === null ? null : order[this.#focus]!;
    const hooks = debugHooks();
    const drawn = { n, drawn: 0, focused, showAll: this.#showAll };
    hooks.liveCands = drawn;
    // Best first, so the top ones win label space; the focused one before all.
    order.forEach((i, rank) => {
      const c = cands[i]!;
      const chosen = m.chosen === i;
      const isFocus = focused === i;
      if (!this.#showAll && rank >= LIVE_TOP_K && !chosen && !isFocus) return;
      const color = chosen ? CHOSEN_COLOR : candidateColor(i, n);
      const dim = focused !== null && !isFocus;
      this.layer.overlay.add(primitiveGlyph(c.primitive, { color, opacity: dim ? 0.2 : chosen || isFocus ? 1 : c.safe === false ? 0.25 : 0.8, scale: chosen || isFocus ? 1.4 : 1 }));
      drawn.drawn++;
      if (rank < LIVE_TOP_K || isFocus || chosen) {
        const score = c.score !== undefined ? ` ${c.score.toFixed(2)}` : '';
        const cls = `label cand${chosen ? ' chosen' : ''}${isFocus ? ' focused' : ''}${dim ? ' faded' : ''}`;
        this.viewer.addLabel(0, labelAnchor(c.primitive), `${i + 1}${score}`, cls, isFocus ? -2 : chosen ? -1 : rank).style.setProperty('--c', chosen ? '#3cff7a' : paletteCss(i, n));
      }
    });
    // The last executed action (teleop), drawn quietly so a new selection stands out.
    if (m.action) this.layer.overlay.add(primitiveGlyph(m.action, { color: 0x9aa3af, opacity: 0.55, scale: 1.2 }));
  }

  protected renderPanel(): void {
    this.panel.replaceChildren(h('h2', {}, 'Live'), this.#info, this.#statsEl);
    this.#renderInfo();
    this.#renderStats();
  }

  #renderInfo(): void {
    const m = this.meta;
    if (!m) {
      this.#info.replaceChildren(h('p', { class: 'empty' }, 'Waiting for the first frame… (the stack publishes one per decision)'));
      return;
    }
    const metrics = Object.entries(m.metrics ?? {}).map(([k, v]) => h('div', {}, h('b', {}, k), ` ${Number(v).toFixed(3)}`));
    const all = m.candidates ?? [];
    const n = all.length;
    const order = this.#scoreOrder(m);
    const focused = this.#focus === null ? null : order[this.#focus];
    const cands = order.map((i, pos) => {
      const c = all[i]!;
      return h(
        'li',
        {
          class: `cand${m.chosen === i ? ' chosen' : ''}${c.safe === false ? ' unsafe' : ''}${focused === i ? ' focused' : ''}`,
          title: c.reason ?? '',
          onclick: () => this.#setFocus(focused === i ? null : pos),
        },
        h('span', { class: 'swatch', style: `background:${m.chosen === i ? '#3cff7a' : paletteCss(i, n)}` }),
        h('span', { class: 'what' }, `#${i + 1}`),
        h('span', { class: 'score' }, c.score !== undefined ? c.score.toFixed(3) : ''),
        h('span', { class: 'rank' }, m.chosen === i ? 'chosen' : c.safe === false ? 'unsafe' : ''),
      );
    });
    const toggle =
      n > LIVE_TOP_K
        ? h('button', { class: 'show-all', onclick: () => ((this.#showAll = !this.#showAll), this.#redrawCandidates()) }, this.#showAll ? `top ${LIVE_TOP_K} only (V)` : `show all ${n} (V)`)
        : null;
    this.#info.replaceChildren(
      ...([
      h('div', { class: 'kv' }, h('b', {}, 'task '), m.task ?? '—', m.episode !== undefined ? ` · episode ${m.episode}` : '', m.step !== undefined ? ` · step ${m.step}` : '', m.source ? ` · ${m.source}` : ''),
      m.holdReason ? h('div', { class: 'hold' }, `held: ${m.holdReason}`) : null,
      metrics.length ? h('div', { class: 'metrics' }, ...metrics) : null,
      n ? h('div', { class: 'cands-head' }, h('b', {}, `${n} candidates`), ` · ${this.#showAll || n <= LIVE_TOP_K ? 'all drawn' : `top ${LIVE_TOP_K} drawn`} · ←/→ focus `, toggle) : null,
      cands.length ? h('ol', { class: 'cands scroll' }, ...cands) : null,
      ] as (HTMLElement | null)[]).filter((x): x is HTMLElement => x !== null),
    );
  }

  #renderStats(): void {
    const s = this.#stats;
    const lat = [...s.latencyMs.slice(-60)].sort((a, b) => a - b);
    const p50 = lat.length ? lat[lat.length >> 1]! : null;
    const moving = this.motion.visible ? ` · moving, t ${s.motionStamp.toFixed(2)} s` : '';
    this.#statsEl.textContent = `${s.points.toLocaleString()} points · ${s.fps} fps · latency ${p50 ?? '—'} ms · skipped ${s.skipped} · motion frames ${s.motionFrames}${moving}`;
    this.#statsEl.dataset.motionFrames = String(s.motionFrames);
  }
}
