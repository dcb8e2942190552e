// 3D glyphs: candidate primitives as arrows (pick→place, sweep start→end, fling pair), markers, paths, the workspace box.
import * as THREE from 'three';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { TaskGoal } from '../core/goal.ts';
import type { Primitive } from '../core/primitive.ts';

/** Ten distinguishable colours (tab10), candidate i gets PALETTE[i % 10]. */
export const PALETTE = [0x4e9af1, 0xf28e2b, 0x59d17a, 0xe15759, 0xb07aa1, 0xedc948, 0x76b7b2, 0xff9da7, 0x9c755f, 0xbab0ac];
export const CHOSEN_COLOR = 0x3cff7a;

/**
 * Colour of candidate i of n: tab10 up to 10; beyond, hues spread by the golden angle with alternating
 * lightness, so 32 (or 128) candidates do not repeat colours every 10 (the index label tells them apart).
 */
export function candidateColor(i: number, n: number): number {
  if (n <= PALETTE.length) return PALETTE[i % PALETTE.length]!;
  return new THREE.Color().setHSL(((i * 137.508) % 360) / 360, 0.72, i % 2 ? 0.62 : 0.48).getHex();
}

export function paletteCss(i: number, n = PALETTE.length): string {
  return `#${candidateColor(i, n).toString(16).padStart(6, '0')}`;
}

const UP = new THREE.Vector3(0, 1, 0);

function material(color: number, opacity: number): THREE.MeshBasicMaterial {
  return new THREE.MeshBasicMaterial({ color, transparent: opacity < 1, opacity, depthTest: opacity >= 1 });
}

/** A cylinder from a to b. */
function shaft(a: THREE.Vector3, b: THREE.Vector3, radius: number, mat: THREE.Material): THREE.Mesh {
  const d = new THREE.Vector3().subVectors(b, a);
  const len = Math.max(d.length(), 1e-6);
  const m = new THREE.Mesh(new THREE.CylinderGeometry(radius, radius, len, 8), mat);
  m.position.copy(a).addScaledVector(d, 0.5);
  m.quaternion.setFromUnitVectors(UP, d.normalize());
  return m;
}

function cone(tip: THREE.Vector3, dir: THREE.Vector3, radius: number, length: number, mat: THREE.Material): THREE.Mesh {
  const m = new THREE.Mesh(new THREE.ConeGeometry(radius, length, 12), mat);
  const d = dir.clone().normalize();
  m.position.copy(tip).addScaledVector(d, -length / 2);
  m.quaternion.setFromUnitVectors(UP, d);
  return m;
}

function ball(at: THREE.Vector3, radius: number, mat: THREE.Material): THREE.Mesh {
  const m = new THREE.Mesh(new THREE.SphereGeometry(radius, 12, 8), mat);
  m.position.copy(at);
  return m;
}

export interface GlyphStyle {
  color: number;
  /** 0..1; below 1 the glyph is drawn see-through (placed candidates fade). */
  opacity?: number;
  /** Size scale (1 = normal; the chosen action is drawn bigger). */
  scale?: number;
}

/**
 * A primitive drawn as its kind reads: pick_place = ball at the pick and an arrow to the place;
 * sweep = a wide arrow from start to end; fling = a bar between the two grasps with a ball at each.
 * Lifted a little above the table so it is not hidden in the cloud.
 */
export function primitiveGlyph(p: Primitive, style: GlyphStyle): THREE.Group {
  const g = new THREE.Group();
  const s = (style.scale ?? 1) * 0.01;
  const mat = material(style.color, style.opacity ?? 1);
  const lift = new THREE.Vector3(0, 0, 0.02);
  const a = new THREE.Vector3(...p.a).add(lift);
  const b = new THREE.Vector3(...p.b).add(lift);
  const dir = new THREE.Vector3().subVectors(b, a);
  const headLen = Math.min(3 * s, dir.length() * 0.45);
  switch (p.kind) {
    case 'pick_place': {
      g.add(ball(a, 1.1 * s, mat));
      g.add(shaft(a, b.clone().addScaledVector(dir.clone().normalize(), -headLen), 0.3 * s, mat));
      g.add(cone(b, dir, 1.0 * s, headLen, mat));
      break;
    }
    case 'sweep': {
      g.add(shaft(a, b.clone().addScaledVector(dir.clone().normalize(), -headLen), 0.6 * s, mat));
      g.add(cone(b, dir, 1.4 * s, headLen, mat));
      const bar = new THREE.Vector3(-dir.y, dir.x, 0).normalize().multiplyScalar(2 * s);
      g.add(shaft(a.clone().sub(bar), a.clone().add(bar), 0.5 * s, mat));
      break;
    }
    case 'fling': {
      g.add(ball(a, 1.1 * s, mat));
      g.add(ball(b, 1.1 * s, mat));
      g.add(shaft(a, b, 0.3 * s, mat));
      break;
    }
  }
  g.renderOrder = style.opacity !== undefined && style.opacity < 1 ? 1 : 2;
  return g;
}

/** Where a candidate's label goes: just above its first point. */
export function labelAnchor(p: Primitive): THREE.Vector3 {
  return new THREE.Vector3(p.a[0], p.a[1], p.a[2] + 0.045);
}

/** A marker for a picked point: a ring-ball with a vertical stalk. */
export function pointMarker(at: THREE.Vector3, color: number): THREE.Group {
  const g = new THREE.Group();
  const mat = material(color, 1);
  g.add(ball(new THREE.Vector3(0, 0, 0), 0.009, mat));
  g.add(shaft(new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, 0.05), 0.0015, mat));
  g.position.copy(at);
  return g;
}

/** A polyline through `pts` (a gripper path). */
export function pathLine(pts: THREE.Vector3[], color: number, opacity = 0.7): THREE.Line {
  const geo = new THREE.BufferGeometry().setFromPoints(pts);
  return new THREE.Line(geo, new THREE.LineBasicMaterial({ color, transparent: opacity < 1, opacity }));
}

/** The workspace box as edges. */
export function workspaceBox(w: WorkspaceBox, color = 0x8a93a3): THREE.LineSegments {
  const box = new THREE.Box3(new THREE.Vector3(...w.min), new THREE.Vector3(...w.max));
  const size = box.getSize(new THREE.Vector3());
  const geo = new THREE.EdgesGeometry(new THREE.BoxGeometry(size.x, size.y, size.z));
  const seg = new THREE.LineSegments(geo, new THREE.LineDashedMaterial({ color, dashSize: 0.02, gapSize: 0.012 }));
  seg.computeLineDistances();
  box.getCenter(seg.position);
  return seg;
}

/** The goal's colour: magenta, which no candidate (tab10), the chosen action or a cloud uses. */
export const GOAL_COLOR = 0xff3ddc;

/**
 * The task's goal on the table: the rope's target curve as a tube (at the origin when its placement is
 * free: a shape to match), the granular region and the cloth's flat area filled see-through with a
 * solid edge. Slightly above the table so the cloud does not hide it.
 */
export function goalOverlay(goal: TaskGoal): THREE.Group {
  const g = new THREE.Group();
  g.userData.goal = goal.kind;
  const z = 0.0015;
  const edge = material(GOAL_COLOR, 1);
  const fill = new THREE.MeshBasicMaterial({ color: GOAL_COLOR, transparent: true, opacity: 0.22, depthWrite: false, side: THREE.DoubleSide });
  const loop = (xy: number[], closed: boolean, radius: number) => {
    const n = xy.length / 2;
    for (let i = 0; i < (closed ? n : n - 1); i++) {
      const j = (i + 1) % n;
      g.add(shaft(new THREE.Vector3(xy[i * 2]!, xy[i * 2 + 1]!, z), new THREE.Vector3(xy[j * 2]!, xy[j * 2 + 1]!, z), radius, edge));
    }
  };
  const filled = (xy: number[]) => {
    const shape = new THREE.Shape();
    shape.moveTo(xy[0]!, xy[1]!);
    for (let i = 2; i < xy.length; i += 2) shape.lineTo(xy[i]!, xy[i + 1]!);
    const m = new THREE.Mesh(new THREE.ShapeGeometry(shape), fill);
    m.position.z = z;
    m.renderOrder = 0;
    g.add(m);
  };
  switch (goal.kind) {
    case 'curve':
      loop(goal.points, goal.closed, 0.003);
      break;
    case 'region':
      for (const [x0, y0, x1, y1] of goal.rects) {
        const xy = [x0, y0, x1, y0, x1, y1, x0, y1];
        filled(xy);
        loop(xy, true, 0.0015);
      }
      break;
    case 'area':
      filled(goal.outline);
      loop(goal.outline, true, 0.0015);
      break;
  }
  return g;
}

/** One line saying what the goal is, for the view's caption. */
export function goalText(goal: TaskGoal | null | undefined): string {
  if (!goal) return 'Goal: not recorded for this item';
  return `Goal: ${goal.objective}`;
}

/** A bounding sphere around a cloud's bounds and some primitives, to frame the camera. */
export function frameOf(bounds: THREE.Box3, prims: Primitive[] = []): { center: THREE.Vector3; radius: number } {
  const b = bounds.clone();
  for (const p of prims) {
    b.expandByPoint(new THREE.Vector3(...p.a));
    b.expandByPoint(new THREE.Vector3(...p.b));
  }
  if (b.isEmpty()) return { center: new THREE.Vector3(), radius: 0.4 };
  const s = b.getBoundingSphere(new THREE.Sphere());
  return { center: s.center, radius: s.radius };
}
