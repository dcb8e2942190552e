// One WebGL canvas with one orbit camera, drawing one or more side-by-side panes (linked cameras for A/B clips).
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

export interface Pane {
  scene: THREE.Scene;
  /** Caption drawn over the pane. */
  caption?: string;
}

interface Label {
  el: HTMLElement;
  pane: number;
  pos: THREE.Vector3;
  priority: number;
  order: number;
  /** Size in CSS px, measured once. */
  w: number;
  h: number;
}

/** Owns the renderer, the camera and its controls, the render loop and HTML labels anchored in 3D. */
export class Viewer {
  readonly container: HTMLElement;
  readonly renderer: THREE.WebGLRenderer;
  readonly camera: THREE.PerspectiveCamera;
  readonly controls: OrbitControls;
  readonly overlay: HTMLElement;
  panes: Pane[] = [];
  #captions: HTMLElement[] = [];
  #goal: HTMLElement | null = null;
  #labels: Label[] = [];
  #dirty = true;
  #raf = 0;
  #before: (() => void)[] = [];
  #after: (() => void)[] = [];
  #resize: ResizeObserver;
  #tmp = new THREE.Vector3();

  constructor(container: HTMLElement) {
    this.container = container;
    container.classList.add('viewer');
    this.renderer = new THREE.WebGLRenderer({ antialias: false, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0x15181d);
    this.renderer.setScissorTest(true);
    container.appendChild(this.renderer.domElement);
    this.overlay = document.createElement('div');
    this.overlay.className = 'viewer-overlay';
    container.appendChild(this.overlay);
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.01, 50);
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(0, -0.9, 0.8);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.target.set(0, 0, 0);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => this.requestRender());
    this.#resize = new ResizeObserver(() => this.#onResize());
    this.#resize.observe(container);
    this.#onResize();
    const loop = () => {
      this.#raf = requestAnimationFrame(loop);
      for (const f of this.#before) f();
      if (!this.#dirty) return;
      this.#dirty = false;
      this.#render();
      for (const f of this.#after) f();
    };
    this.#raf = requestAnimationFrame(loop);
  }

  /** Shows what the task asks for over the view (bottom left); null hides it. */
  setGoalText(text: string | null): void {
    if (!this.#goal) {
      this.#goal = document.createElement('div');
      this.#goal.className = 'goal-caption';
      this.overlay.appendChild(this.#goal);
    }
    this.#goal.textContent = text ?? '';
    this.#goal.hidden = !text;
  }

  /** Sets the panes (left to right, equal widths). */
  setPanes(panes: Pane[]): void {
    this.panes = panes;
    for (const c of this.#captions) c.remove();
    this.#captions = panes.map((p, i) => {
      const el = document.createElement('div');
      el.className = 'pane-caption';
      el.textContent = p.caption ?? '';
      el.hidden = !p.caption;
      el.style.left = `calc(${(100 * i) / panes.length}% + 8px)`;
      this.overlay.appendChild(el);
      return el;
    });
    this.#onResize();
  }

  setCaption(pane: number, text: string): void {
    const el = this.#captions[pane];
    if (el) {
      el.textContent = text;
      el.hidden = !text;
    }
  }

  requestRender(): void {
    this.#dirty = true;
  }

  /** Runs every animation frame before rendering (e.g. clip playback). */
  onFrame(f: () => void): void {
    this.#before.push(f);
  }

  /** Runs after each render that happened (e.g. latency stamps). */
  onRendered(f: () => void): void {
    this.#after.push(f);
  }

  /** Points the camera at a sphere (table frame: z up), looking from the front and above. */
  fit(center: THREE.Vector3, radius: number): void {
    const r = Math.max(radius, 0.05);
    const d = r / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2)) * 1.05;
    this.controls.target.copy(center);
    this.camera.position.set(center.x, center.y - d * 0.62, center.z + d * 0.78);
    this.camera.near = d / 100;
    this.camera.far = d * 20;
    this.camera.updateProjectionMatrix();
    this.controls.update();
    this.requestRender();
  }

  /**
   * A label (HTML) anchored at a 3D point of a pane; remove it with `clearLabels`. Labels never
   * overlap: where two would, the one with the lower `priority` number (earlier added on a tie) is shown.
   */
  addLabel(pane: number, pos: THREE.Vector3, html: string, cls = 'label', priority = 0): HTMLElement {
    const el = document.createElement('div');
    el.className = cls;
    el.innerHTML = html;
    this.overlay.appendChild(el);
    this.#labels.push({ el, pane, pos: pos.clone(), priority, order: this.#labels.length, w: el.offsetWidth || 22, h: el.offsetHeight || 18 });
    // Hidden until the next render places it (and culls it if it would overlap).
    el.style.display = 'none';
    this.#labels.sort((a, b) => a.priority - b.priority || a.order - b.order);
    this.requestRender();
    return el;
  }

  /** How many labels are on screen after the overlap culling (for tests). */
  visibleLabels(): number {
    return this.#labels.filter((l) => l.el.style.display !== 'none').length;
  }

  clearLabels(): void {
    for (const l of this.#labels) l.el.remove();
    this.#labels = [];
  }

  /** CSS pixel position (relative to the canvas) of a 3D point drawn in `pane`. */
  project(p: THREE.Vector3, pane = 0): { x: number; y: number; visible: boolean } {
    const { width, height } = this.#size();
    const n = Math.max(1, this.panes.length);
    const pw = width / n;
    const v = this.#tmp.copy(p).project(this.camera);
    return { x: pw * pane + ((v.x + 1) / 2) * pw, y: ((1 - v.y) / 2) * height, visible: v.z > -1 && v.z < 1 };
  }

  /** The pane under a client (mouse) position and a raycaster through it, or null outside the canvas. */
  rayAt(clientX: number, clientY: number): { pane: number; ray: THREE.Raycaster } | null {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    if (x < 0 || y < 0 || x > rect.width || y > rect.height) return null;
    const n = Math.max(1, this.panes.length);
    const pw = rect.width / n;
    const pane = Math.min(n - 1, Math.floor(x / pw));
    const ndc = new THREE.Vector2(((x - pane * pw) / pw) * 2 - 1, -(y / rect.height) * 2 + 1);
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.camera);
    return { pane, ray };
  }

  /** World units per CSS pixel at distance of the orbit target (for pick tolerances). */
  worldPerPixel(): number {
    const { height } = this.#size();
    const d = this.camera.position.distanceTo(this.controls.target);
    return (2 * d * Math.tan(THREE.MathUtils.degToRad(this.camera.fov / 2))) / Math.max(1, height);
  }

  dispose(): void {
    cancelAnimationFrame(this.#raf);
    this.#resize.disconnect();
    this.controls.dispose();
    this.renderer.dispose();
    this.container.innerHTML = '';
    this.container.classList.remove('viewer');
  }

  #size(): { width: number; height: number } {
    return { width: this.container.clientWidth || 1, height: this.container.clientHeight || 1 };
  }

  #onResize(): void {
    const { width, height } = this.#size();
    this.renderer.setSize(width, height);
    this.camera.aspect = width / Math.max(1, this.panes.length) / height;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  #render(): void {
    const { width, height } = this.#size();
    const n = Math.max(1, this.panes.length);
    const pw = Math.floor(width / n);
    this.panes.forEach((p, i) => {
      this.renderer.setViewport(i * pw, 0, pw, height);
      this.renderer.setScissor(i * pw, 0, pw, height);
      this.renderer.render(p.scene, this.camera);
    });
    // In priority order; a label overlapping one already placed is hidden (its box starts 11 px up and
    // left of the anchor, see .label in style.css).
    const placed: { x: number; y: number; w: number; h: number }[] = [];
    for (const l of this.#labels) {
      const s = this.project(l.pos, l.pane);
      const r = { x: s.x - 11, y: s.y - 11, w: l.w, h: l.h };
      const clear = s.visible && !placed.some((p) => r.x < p.x + p.w && p.x < r.x + r.w && r.y < p.y + p.h && p.y < r.y + r.h);
      l.el.style.display = clear ? '' : 'none';
      if (!clear) continue;
      placed.push(r);
      l.el.style.transform = `translate(${s.x.toFixed(1)}px, ${s.y.toFixed(1)}px)`;
    }
  }
}
