// Teleop view (operators): pick the two action points on the live cloud, refine with a gizmo, confirm to execute; a latching STOP.
import * as THREE from 'three';
import { TransformControls } from 'three/examples/jsm/controls/TransformControls.js';
import { workspaceViolation } from '../../core/geometry.ts';
import { PRIMITIVE_POINT_NAMES, type Primitive, type PrimitiveKind } from '../../core/primitive.ts';
import type { ServerMessage, TeleopState } from '../../core/protocol.ts';
import { goalOverlay, goalText, pointMarker, primitiveGlyph, workspaceBox } from '../draw.ts';
import { newClientId } from '../net.ts';
import { debugHooks, h, toast } from '../ui.ts';
import { LiveView } from './live.ts';
import { pickOnCloud } from './picking.ts';

type Slot = 'a' | 'b';

export class TeleopView extends LiveView {
  override readonly name = 'teleop';
  override readonly help: [string, string][] = [
    ['click the cloud', 'set the active point (snaps to the nearest cloud point)'],
    ['A  /  B', 'make point A / B active'],
    ['G', 'show the gizmo on the active point (drag its arrows to refine)'],
    ['Enter', 'check, then Enter again to execute'],
    ['Esc', 'cancel the confirmation / clear the points'],
    ['Space  or  X', 'STOP: latch the e-stop'],
    ['F', 'frame the cloud'],
  ];
  #a: THREE.Vector3 | null = null;
  #b: THREE.Vector3 | null = null;
  #aOnCloud = true;
  #bOnCloud = true;
  #active: Slot = 'a';
  #confirming = false;
  #verdict: { ok: boolean; reason: string | null } | null = null;
  #state: TeleopState | null = null;
  #gizmo!: TransformControls;
  #handle = new THREE.Object3D();
  #gizmoOn = false;
  #down: { x: number; y: number } | null = null;
  #offBroadcast: (() => void) | null = null;
  #lastResult: unknown = null;
  #markers = new THREE.Group();

  override mount(root: HTMLElement, ctx: import('../ui.ts').AppContext): void {
    this.boxColor = 0xffcc33;
    super.mount(root, ctx);
    this.#state = ctx.teleop;
    this.extra.add(this.#markers, this.#handle);
    this.#gizmo = new TransformControls(this.viewer.camera, this.viewer.renderer.domElement);
    this.#gizmo.setSize(0.8);
    this.#gizmo.addEventListener('dragging-changed', (e) => {
      this.viewer.controls.enabled = !(e as unknown as { value: boolean }).value;
    });
    this.#gizmo.addEventListener('objectChange', () => {
      const p = this.#handle.position.clone();
      if (this.#active === 'a') this.#a = p;
      else this.#b = p;
      this.#pointsChanged(false);
    });
    this.#gizmo.addEventListener('change', () => this.viewer.requestRender());
    this.layer.scene.add(this.#gizmo.getHelper());
    const canvas = this.viewer.renderer.domElement;
    canvas.addEventListener('pointerdown', (e) => (this.#down = { x: e.clientX, y: e.clientY }));
    canvas.addEventListener('pointerup', (e) => {
      const d = this.#down;
      this.#down = null;
      if (!d || Math.hypot(e.clientX - d.x, e.clientY - d.y) > 4 || this.#gizmo.dragging || this.#gizmo.axis) return;
      this.#pick(e.clientX, e.clientY);
    });
    this.#offBroadcast = ctx.onBroadcast((m: ServerMessage) => {
      if (m.op === 'teleop.state') this.#setState(m);
    });
    const hooks = debugHooks();
    hooks.teleop = () => ({
      a: this.#a?.toArray() ?? null,
      b: this.#b?.toArray() ?? null,
      verdict: this.#verdict,
      confirming: this.#confirming,
      state: this.#state,
      lastResult: this.#lastResult,
    });
    this.#drawFixtures();
    this.renderPanel();
  }

  override unmount(): void {
    this.#offBroadcast?.();
    this.#gizmo.dispose();
    super.unmount();
  }

  override onKey(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    switch (e.key) {
      case ' ':
      case 'x':
      case 'X':
        void this.#stop();
        return true;
      case 'a':
      case 'A':
      case 'b':
      case 'B':
        this.#active = e.key.toLowerCase() as Slot;
        this.#attachGizmo();
        this.renderPanel();
        return true;
      case 'g':
      case 'G':
        this.#gizmoOn = !this.#gizmoOn;
        this.#attachGizmo();
        return true;
      case 'Enter':
        void this.#confirmOrExecute();
        return true;
      case 'Escape':
        if (this.#confirming) this.#confirming = false;
        else this.#clear();
        this.renderPanel();
        return true;
    }
    return super.onKey(e);
  }

  get #kind(): PrimitiveKind {
    return this.#state?.primitive ?? this.meta?.primitive ?? 'pick_place';
  }

  get #primitive(): Primitive | null {
    if (!this.#a || !this.#b) return null;
    const r = (v: THREE.Vector3): [number, number, number] => [round(v.x), round(v.y), round(v.z)];
    return { kind: this.#kind, a: r(this.#a), b: r(this.#b) };
  }

  #setState(s: TeleopState): void {
    this.#state = s;
    if (s.estop) this.#confirming = false;
    this.#drawFixtures();
    this.renderPanel();
  }

  #pick(x: number, y: number): void {
    const hit = pickOnCloud(this.viewer, this.layer, x, y, this.#state?.workspace?.min[2] ?? 0);
    if (!hit) return;
    if (this.#active === 'a') {
      this.#a = hit.point;
      this.#aOnCloud = hit.onCloud;
      this.#active = 'b';
    } else {
      this.#b = hit.point;
      this.#bOnCloud = hit.onCloud;
    }
    this.#pointsChanged(true);
  }

  #clear(): void {
    this.#a = this.#b = null;
    this.#active = 'a';
    this.#verdict = null;
    this.#confirming = false;
    this.#gizmo.detach();
    this.#drawMarkers();
  }

  #pointsChanged(fromPick: boolean): void {
    this.#confirming = false;
    this.#verdict = null;
    this.#drawMarkers(!fromPick);
    if (fromPick) this.#attachGizmo();
    this.renderPanel();
    void this.#check();
  }

  #attachGizmo(): void {
    const p = this.#active === 'a' ? this.#a : this.#b;
    if (this.#gizmoOn && p) {
      this.#handle.position.copy(p);
      this.#gizmo.attach(this.#handle);
    } else this.#gizmo.detach();
    this.viewer.requestRender();
  }

  #localCheck(p: Primitive): string | null {
    const w = this.#state?.workspace;
    if (!w) return null;
    const [na, nb] = PRIMITIVE_POINT_NAMES[p.kind];
    return workspaceViolation(p.a, w, na) ?? workspaceViolation(p.b, w, nb);
  }

  async #check(): Promise<void> {
    const p = this.#primitive;
    if (!p) return;
    const local = this.#localCheck(p);
    if (local) {
      this.#verdict = { ok: false, reason: local };
      return this.renderPanel();
    }
    try {
      const m = await this.ctx.conn.request({ op: 'teleop.check', primitive: p });
      if (m.op === 'teleop.verdict' && this.#primitive && JSON.stringify(this.#primitive) === JSON.stringify(p)) {
        this.#verdict = { ok: m.ok, reason: m.reason };
        this.renderPanel();
      }
    } catch (e) {
      this.#verdict = { ok: false, reason: (e as Error).message };
      this.renderPanel();
    }
  }

  async #confirmOrExecute(): Promise<void> {
    const p = this.#primitive;
    if (!p) return toast(`set both points first (${PRIMITIVE_POINT_NAMES[this.#kind].join(', ')})`, 'info');
    if (this.#state?.estop) return toast('e-stop is latched: reset it first', 'error');
    if (!this.#confirming) {
      await this.#check();
      if (!this.#verdict?.ok) return toast(`refused: ${this.#verdict?.reason ?? 'unknown'}`, 'error');
      this.#confirming = true;
      return this.renderPanel();
    }
    this.#confirming = false;
    this.renderPanel();
    try {
      const m = await this.ctx.conn.durable({ op: 'teleop.execute', clientId: newClientId(), primitive: p });
      if (m.op === 'teleop.result') {
        this.#lastResult = m;
        const metrics = Object.entries(m.metrics).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(', ');
        if (m.aborted) toast(`stopped by the e-stop after ${m.duration.toFixed(2)} s sim time; the arm stayed where it was`, 'error', 6000);
        else toast(`executed in ${m.duration.toFixed(2)} s sim time${metrics ? ` · ${metrics}` : ''}`, 'ok', 5000);
        this.#clear();
        this.renderPanel();
      }
    } catch (e) {
      this.#lastResult = { error: (e as Error).message };
      toast(`not executed: ${(e as Error).message}`, 'error', 6000);
    }
  }

  async #stop(): Promise<void> {
    try {
      await this.ctx.conn.request({ op: 'estop', engaged: true });
      toast('E-STOP latched', 'error');
    } catch (e) {
      toast(`STOP failed: ${(e as Error).message}`, 'error');
    }
  }

  async #reset(): Promise<void> {
    try {
      await this.ctx.conn.request({ op: 'estop', engaged: false });
      toast('e-stop reset', 'ok');
    } catch (e) {
      toast(`reset failed: ${(e as Error).message}`, 'error');
    }
  }

  #drawFixtures(): void {
    // The live frames carry the workspace too; draw it here only when they do not.
    const w = this.meta?.workspace ? null : this.#state?.workspace;
    for (const c of [...this.extra.children]) if (c.userData.teleopBox) this.extra.remove(c);
    if (w) {
      const box = workspaceBox(w, 0xffcc33);
      box.userData.teleopBox = true;
      this.extra.add(box);
    }
    // Likewise the goal: from the live frames when they carry it, else from the teleop state.
    const goal = this.meta?.goal ? null : this.#state?.goal;
    if (goal) {
      const g = goalOverlay(goal);
      g.userData.teleopBox = true;
      this.extra.add(g);
      this.viewer.setGoalText(goalText(goal));
      debugHooks().goal = goal.kind;
    }
    this.viewer.requestRender();
  }

  #drawMarkers(keepGizmo = false): void {
    this.#markers.clear();
    const [na, nb] = PRIMITIVE_POINT_NAMES[this.#kind];
    this.viewer.clearLabels();
    if (this.#a) {
      this.#markers.add(pointMarker(this.#a, this.#aOnCloud ? 0x3cff7a : 0xffcc33));
      this.viewer.addLabel(0, this.#a.clone().setZ(this.#a.z + 0.06), `A ${na}`, 'label pick');
    }
    if (this.#b) {
      this.#markers.add(pointMarker(this.#b, this.#bOnCloud ? 0x3cff7a : 0xffcc33));
      this.viewer.addLabel(0, this.#b.clone().setZ(this.#b.z + 0.06), `B ${nb}`, 'label pick');
    }
    const p = this.#primitive;
    if (p) this.#markers.add(primitiveGlyph(p, { color: 0xffffff, scale: 1.2 }));
    if (!keepGizmo) this.#attachGizmo();
    this.viewer.requestRender();
  }

  protected override onMeta(): void {
    super.onMeta();
    this.#drawFixtures();
    this.#drawMarkers(true);
  }

  protected override renderPanel(): void {
    super.renderPanel();
    if (!this.#markers) return; // called by the base mount before our fields exist
    const s = this.#state;
    const [na, nb] = PRIMITIVE_POINT_NAMES[this.#kind];
    const fmt = (v: THREE.Vector3 | null, onCloud: boolean) =>
      v ? `${v.x.toFixed(3)}, ${v.y.toFixed(3)}, ${v.z.toFixed(3)}${onCloud ? '' : ' (table)'}` : 'click the cloud';
    const estop = !!s?.estop;
    const box = h(
      'div',
      { class: 'teleop' },
      h('h2', {}, 'Teleop ', h('span', { class: 'sub' }, s?.task ? `${s.task} · ${this.#kind}` : 'no world attached')),
      estop ? h('div', { class: 'estop-banner', role: 'alert' }, `E-STOP LATCHED${s?.estopBy ? ` by ${s.estopBy}` : ''}`) : null,
      h('div', { class: `pt${this.#active === 'a' ? ' active' : ''}` }, h('kbd', {}, 'A'), ` ${na}: `, fmt(this.#a, this.#aOnCloud)),
      h('div', { class: `pt${this.#active === 'b' ? ' active' : ''}` }, h('kbd', {}, 'B'), ` ${nb}: `, fmt(this.#b, this.#bOnCloud)),
      this.#verdict
        ? h('div', { class: `verdict ${this.#verdict.ok ? 'ok' : 'bad'}` }, this.#verdict.ok ? 'feasible' : `refused: ${this.#verdict.reason}`)
        : null,
      this.#confirming ? h('div', { class: 'confirm' }, `Execute ${this.#kind}? Press Enter again to run, Esc to cancel.`) : null,
      h(
        'div',
        { class: 'buttons' },
        h(
          'button',
          { class: 'primary', onclick: () => void this.#confirmOrExecute(), disabled: estop || !this.#primitive || !!s?.busy || !s?.available },
          s?.busy ? 'Running…' : this.#confirming ? 'Confirm ' : 'Execute ',
          h('kbd', {}, '⏎'),
        ),
        h('button', { onclick: () => (this.#clear(), this.renderPanel()) }, 'Clear ', h('kbd', {}, 'Esc')),
      ),
      h('button', { class: 'stop', onclick: () => void this.#stop(), title: 'latch the e-stop (Space)' }, 'STOP'),
      estop ? h('button', { class: 'reset', onclick: () => void this.#reset() }, 'Reset e-stop') : null,
    );
    this.panel.prepend(box);
  }
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}
