// Primitive → motion plan: the Cartesian tool poses (table frame, metres, top-down grasp), gripper
// commands and, for fling, a timed two-arm trajectory, from the primitive, the object cloud around the
// grasp and a few parameters. Plain maths: the motion backends turn a plan into MoveIt or ros2_control
// requests.
import type { Vec3, WorkspaceBox } from '../../src/core/geometry.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import type { Pose, Quaternion } from '../../src/record/index.ts';

export interface PlanParams {
  /** Height of the approach and retreat poses above the action point, m. */
  approachHeight: number;
  /** Tool height above the action point when grasping, m (negative: below the surface point). */
  graspOffset: number;
  /** Height above the pick point the object is lifted to before the transfer, m. */
  liftHeight: number;
  /** Height above the place point the object is released at, m. */
  placeHeight: number;
  /** Tool height above the surface along a sweep, m. */
  sweepHeight: number;
  /** Radius of the cloud neighbourhood that sets the grasp yaw, m. */
  yawRadius: number;
  /** Tool speed along Cartesian segments, m/s. */
  speed: number;
  /** Gripper opening when open, m, and when closed on the object, m. */
  gripperOpen: number;
  gripperClosed: number;
  /** Gripper effort limit, N. */
  gripperEffort: number;
  /** Fling: lift height, forward throw distance along +x, and throw speed. */
  flingHeight: number;
  flingDistance: number;
  flingSpeed: number;
}

export const DEFAULT_PLAN_PARAMS: PlanParams = {
  approachHeight: 0.1,
  graspOffset: 0,
  liftHeight: 0.1,
  placeHeight: 0.02,
  sweepHeight: 0.01,
  yawRadius: 0.03,
  speed: 0.2,
  gripperOpen: 0.08,
  gripperClosed: 0,
  gripperEffort: 20,
  flingHeight: 0.3,
  flingDistance: 0.25,
  flingSpeed: 0.8,
};

/** A straight-line tool motion through `poses` (the current pose is the implicit start). */
export interface CartesianStep {
  kind: 'cartesian';
  arm: number;
  /** What the segment is (approach, descend, lift, transfer, sweep, retreat…), for reports. */
  name: string;
  poses: Pose[];
  speed: number;
}
export interface GripperStep {
  kind: 'gripper';
  arm: number;
  name: 'open' | 'grasp' | 'release' | 'close';
  position: number;
  maxEffort: number;
}
/** Both arms through the same number of poses at shared times (seconds from the segment start). */
export interface TimedStep {
  kind: 'timed';
  name: string;
  arms: { arm: number; poses: Pose[] }[];
  times: number[];
}
export type MotionStep = CartesianStep | GripperStep | TimedStep;

export interface MotionPlan {
  primitive: Primitive;
  /** Grasp yaw of each arm used, rad: angle of the fingers' closing direction in the table XY plane. */
  yaw: number[];
  steps: MotionStep[];
}

/**
 * Closing direction for a parallel gripper at `p`: across the local rope or cloth edge, i.e. normal to
 * the principal direction (XY PCA) of the cloud points within `radius`. Falls back to `fallback`
 * with fewer than 3 neighbours or an isotropic neighbourhood. Result in (-π/2, π/2].
 */
export function graspYaw(cloud: Float32Array | null, p: Vec3, radius: number, fallback = 0): number {
  if (!cloud) return wrapHalf(fallback);
  let n = 0;
  let mx = 0;
  let my = 0;
  const r2 = radius * radius;
  for (let i = 0; i + 2 < cloud.length; i += 3) {
    const dx = cloud[i]! - p[0];
    const dy = cloud[i + 1]! - p[1];
    if (dx * dx + dy * dy <= r2) {
      n++;
      mx += cloud[i]!;
      my += cloud[i + 1]!;
    }
  }
  if (n < 3) return wrapHalf(fallback);
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i + 2 < cloud.length; i += 3) {
    const dx = cloud[i]! - p[0];
    const dy = cloud[i + 1]! - p[1];
    if (dx * dx + dy * dy > r2) continue;
    const x = cloud[i]! - mx;
    const y = cloud[i + 1]! - my;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  // Principal axis angle of the 2x2 covariance; an isotropic patch has no direction.
  const anisotropy = Math.hypot(sxx - syy, 2 * sxy) / Math.max(sxx + syy, 1e-12);
  if (anisotropy < 0.2) return wrapHalf(fallback);
  const along = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  return wrapHalf(along + Math.PI / 2);
}

/** An angle folded into (-π/2, π/2] (a parallel gripper is symmetric under a half turn). */
export function wrapHalf(a: number): number {
  let x = a % Math.PI;
  if (x <= -Math.PI / 2) x += Math.PI;
  if (x > Math.PI / 2) x -= Math.PI;
  return x;
}

/**
 * Top-down tool orientation whose closing axis (tool y) lies along `yaw`: Rz(yaw + π/2)·Rx(π), so
 * the tool z axis points down at the table. As a quaternion that is (cos ψ/2, sin ψ/2, 0, 0) in x, y.
 */
export function topDownQuaternion(yaw: number): Quaternion {
  const psi = yaw + Math.PI / 2;
  return { x: Math.cos(psi / 2), y: Math.sin(psi / 2), z: 0, w: 0 };
}

const pose = (x: number, y: number, z: number, q: Quaternion): Pose => ({ position: { x, y, z }, orientation: q });

/**
 * The plan of one primitive. pick_place: open, approach, descend, grasp, lift, transfer, descend,
 * release, retreat. sweep: close, approach, descend, sweep, retreat (tool broadside to the motion).
 * fling: both arms grasp at a and b, lift, throw forward along +x, lay down, release, retreat.
 */
export function planPrimitive(prim: Primitive, cloud: Float32Array | null, o: PlanParams = DEFAULT_PLAN_PARAMS): MotionPlan {
  const { a, b } = prim;
  const open: GripperStep = { kind: 'gripper', arm: 0, name: 'open', position: o.gripperOpen, maxEffort: o.gripperEffort };
  if (prim.kind === 'pick_place') {
    const yaw = graspYaw(cloud, a, o.yawRadius);
    const q = topDownQuaternion(yaw);
    const above = (p: Vec3, h: number) => pose(p[0], p[1], p[2] + h, q);
    const cart = (name: string, ...poses: Pose[]): CartesianStep => ({ kind: 'cartesian', arm: 0, name, poses, speed: o.speed });
    return {
      primitive: prim,
      yaw: [yaw],
      steps: [
        open,
        cart('approach', above(a, o.approachHeight)),
        cart('descend', above(a, o.graspOffset)),
        { kind: 'gripper', arm: 0, name: 'grasp', position: o.gripperClosed, maxEffort: o.gripperEffort },
        cart('lift', above(a, o.liftHeight)),
        cart('transfer', above(b, o.liftHeight)),
        cart('descend', above(b, o.placeHeight)),
        { kind: 'gripper', arm: 0, name: 'release', position: o.gripperOpen, maxEffort: o.gripperEffort },
        cart('retreat', above(b, o.approachHeight)),
      ],
    };
  }
  if (prim.kind === 'sweep') {
    // Broadside: the closing axis along the sweep direction puts the fingers' flat faces across it.
    const yaw = wrapHalf(Math.atan2(b[1] - a[1], b[0] - a[0]));
    const q = topDownQuaternion(yaw);
    const cart = (name: string, ...poses: Pose[]): CartesianStep => ({ kind: 'cartesian', arm: 0, name, poses, speed: o.speed });
    return {
      primitive: prim,
      yaw: [yaw],
      steps: [
        { kind: 'gripper', arm: 0, name: 'close', position: o.gripperClosed, maxEffort: o.gripperEffort },
        cart('approach', pose(a[0], a[1], a[2] + o.approachHeight, q)),
        cart('descend', pose(a[0], a[1], a[2] + o.sweepHeight, q)),
        cart('sweep', pose(b[0], b[1], b[2] + o.sweepHeight, q)),
        cart('retreat', pose(b[0], b[1], b[2] + o.approachHeight, q)),
      ],
    };
  }
  // fling: arm 0 grasps a (left), arm 1 grasps b (right); both move in lockstep.
  const yaws = [graspYaw(cloud, a, o.yawRadius), graspYaw(cloud, b, o.yawRadius)];
  const qs = yaws.map(topDownQuaternion);
  const grasps = [a, b];
  const mid = (a[2] + b[2]) / 2;
  const path = (i: number, dx: number, z: number): Pose => pose(grasps[i]![0] + dx, grasps[i]![1], z, qs[i]!);
  const keyframes: { name: string; at: (i: number) => Pose; speed: number }[] = [
    { name: 'approach', at: (i) => path(i, 0, grasps[i]![2] + o.approachHeight), speed: o.speed },
    { name: 'descend', at: (i) => path(i, 0, grasps[i]![2] + o.graspOffset), speed: o.speed },
    { name: 'lift', at: (i) => path(i, 0, mid + o.flingHeight), speed: o.speed },
    { name: 'throw', at: (i) => path(i, o.flingDistance, mid + o.flingHeight), speed: o.flingSpeed },
    { name: 'lay', at: (i) => path(i, -o.flingDistance / 2, mid + o.placeHeight), speed: o.flingSpeed },
  ];
  const timed = (name: string, frames: typeof keyframes, from: Pose[] | null): TimedStep => {
    const times: number[] = [];
    let t = 0;
    let prev = from;
    for (const f of frames) {
      const next = [0, 1].map(f.at);
      const dist = prev ? Math.max(...next.map((p, i) => dist3(p, prev![i]!))) : 0;
      t += prev ? Math.max(dist / f.speed, 0.05) : 0;
      times.push(t);
      prev = next;
    }
    return { kind: 'timed', name, arms: [0, 1].map((i) => ({ arm: i, poses: frames.map((f) => f.at(i)) })), times };
  };
  const reach = timed('approach', keyframes.slice(0, 2), null);
  const graspPoses = [0, 1].map((i) => keyframes[1]!.at(i));
  const throwStep = timed('fling', keyframes.slice(2), graspPoses);
  const laid = [0, 1].map((i) => keyframes[4]!.at(i));
  const retreat = timed('retreat', [{ name: 'retreat', at: (i) => ({ ...laid[i]!, position: { ...laid[i]!.position, z: laid[i]!.position.z + o.approachHeight } }), speed: o.speed }], laid);
  const grip = (arm: number, name: GripperStep['name'], position: number): GripperStep => ({ kind: 'gripper', arm, name, position, maxEffort: o.gripperEffort });
  return {
    primitive: prim,
    yaw: yaws,
    steps: [grip(0, 'open', o.gripperOpen), grip(1, 'open', o.gripperOpen), reach, grip(0, 'grasp', o.gripperClosed), grip(1, 'grasp', o.gripperClosed), throwStep, grip(0, 'release', o.gripperOpen), grip(1, 'release', o.gripperOpen), retreat],
  };
}

function dist3(p: Pose, q: Pose): number {
  return Math.hypot(p.position.x - q.position.x, p.position.y - q.position.y, p.position.z - q.position.z);
}

/** Every tool position of a plan. */
export function planPositions(plan: MotionPlan): Vec3[] {
  const out: Vec3[] = [];
  for (const s of plan.steps) {
    if (s.kind === 'cartesian') for (const p of s.poses) out.push([p.position.x, p.position.y, p.position.z]);
    if (s.kind === 'timed') for (const a of s.arms) for (const p of a.poses) out.push([p.position.x, p.position.y, p.position.z]);
  }
  return out;
}

/** Null when every tool position lies in the workspace box, else the first offender and the box. */
export function planOutsideWorkspace(plan: MotionPlan, box: WorkspaceBox): string | null {
  for (const p of planPositions(plan))
    for (let i = 0; i < 3; i++)
      if (p[i]! < box.min[i]! - 1e-9 || p[i]! > box.max[i]! + 1e-9)
        return `tool position [${p.map((v) => v.toFixed(3)).join(', ')}] leaves the workspace on ${'xyz'[i]} ([${box.min[i]}, ${box.max[i]}])`;
  return null;
}
