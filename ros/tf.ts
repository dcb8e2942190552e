// A small tf2 listener and static broadcaster on the RosPort: tf2_msgs/msg/TFMessage on /tf (dynamic)
// and /tf_static (latched), a tree of parent → child transforms, and lookups that say why they fail
// (unknown frame, no path, or a dynamic link older than the allowed age). QoS as tf2_ros uses it
// (ros2/geometry2 tf2_ros/include/tf2_ros/qos.hpp: DynamicListenerQoS = KEEP_LAST 100, RELIABLE,
// VOLATILE; StaticListenerQoS / StaticBroadcasterQoS = KEEP_LAST 1, RELIABLE, TRANSIENT_LOCAL).
import type { QosProfile, TFMessage, TransformStamped } from '../src/record/index.ts';
import type { RosNode } from './port.ts';

export const TF_TOPIC = '/tf';
export const TF_STATIC_TOPIC = '/tf_static';
export const TF_QOS: QosProfile = { history: 'keep_last', depth: 100, reliability: 'reliable', durability: 'volatile' };
export const TF_STATIC_QOS: QosProfile = { history: 'keep_last', depth: 1, reliability: 'reliable', durability: 'transient_local' };

interface Link {
  parent: string;
  /** Row-major 4×4, child → parent (p_parent = M · p_child). */
  matrix: Float64Array;
  stamp: number;
  isStatic: boolean;
}

/** A 4×4 child → parent from a geometry_msgs/Transform. */
export function transformToMatrix(t: TransformStamped['transform']): Float64Array {
  const { x, y, z, w } = t.rotation;
  const n = Math.hypot(x, y, z, w) || 1;
  const [qx, qy, qz, qw] = [x / n, y / n, z / n, w / n];
  return Float64Array.from([
    1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw), t.translation.x,
    2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw), t.translation.y,
    2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy), t.translation.z,
    0, 0, 0, 1,
  ]);
}

function mul(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = a[r * 4]! * b[c]! + a[r * 4 + 1]! * b[4 + c]! + a[r * 4 + 2]! * b[8 + c]! + a[r * 4 + 3]! * b[12 + c]!;
  return out;
}

/** Inverse of a rigid 4×4. */
function invert(m: Float64Array): Float64Array {
  const out = new Float64Array(16);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r * 4 + c] = m[c * 4 + r]!;
  for (let r = 0; r < 3; r++) out[r * 4 + 3] = -(out[r * 4]! * m[3]! + out[r * 4 + 1]! * m[7]! + out[r * 4 + 2]! * m[11]!);
  out[15] = 1;
  return out;
}

const strip = (f: string): string => f.replace(/^\/+/, '');

export type TfLookup = { ok: true; matrix: Float64Array } | { ok: false; reason: string };

/** The latest transforms heard on /tf and /tf_static (a node subscribes it with `listen`). */
export class TfBuffer {
  #links = new Map<string, Link>();

  /** Adds transforms (tf2 frame ids have no leading '/'). */
  add(msg: TFMessage, isStatic: boolean): void {
    for (const t of msg.transforms) {
      const child = strip(t.child_frame_id);
      const parent = strip(t.header.frame_id);
      if (!child || !parent || child === parent) continue;
      this.#links.set(child, { parent, matrix: transformToMatrix(t.transform), stamp: t.header.stamp.sec + t.header.stamp.nanosec * 1e-9, isStatic });
    }
  }

  /** Subscribes `node` to /tf and /tf_static. */
  listen(node: RosNode): this {
    node.createSubscription('tf2_msgs/msg/TFMessage', TF_TOPIC, TF_QOS, (m) => this.add(m, false));
    node.createSubscription('tf2_msgs/msg/TFMessage', TF_STATIC_TOPIC, TF_STATIC_QOS, (m) => this.add(m, true));
    return this;
  }

  #chain(frame: string): { frames: string[]; links: Link[] } {
    const frames = [frame];
    const links: Link[] = [];
    let f = frame;
    for (let i = 0; i < 64; i++) {
      const l = this.#links.get(f);
      if (!l) break;
      links.push(l);
      f = l.parent;
      frames.push(f);
    }
    return { frames, links };
  }

  /**
   * The transform taking points in `source` to `target` (p_target = M · p_source), or why not:
   * an unknown frame, frames in unconnected trees, or a dynamic link older than `maxAge` s at `now`.
   */
  lookup(target: string, source: string, now: number, maxAge: number): TfLookup {
    const [t, s] = [strip(target), strip(source)];
    if (t === s) return { ok: true, matrix: Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]) };
    const known = (f: string) => this.#links.has(f) || [...this.#links.values()].some((l) => l.parent === f);
    for (const f of [s, t]) if (!known(f)) return { ok: false, reason: `frame ${f} does not exist in TF (nothing on ${TF_TOPIC} or ${TF_STATIC_TOPIC} names it)` };
    const up = this.#chain(s);
    const down = this.#chain(t);
    const common = up.frames.find((f) => down.frames.includes(f));
    if (common === undefined) return { ok: false, reason: `frames ${s} and ${t} are not connected (roots ${up.frames.at(-1)} and ${down.frames.at(-1)})` };
    const used = [...up.links.slice(0, up.frames.indexOf(common)), ...down.links.slice(0, down.frames.indexOf(common))];
    for (const l of used)
      if (!l.isStatic && now - l.stamp > maxAge)
        return { ok: false, reason: `transform ${l.parent} -> ${[...this.#links].find(([, v]) => v === l)![0]} is stale: ${(now - l.stamp).toFixed(2)} s old (limit ${maxAge} s)` };
    let toCommonFromSource: Float64Array = Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    for (const l of up.links.slice(0, up.frames.indexOf(common))) toCommonFromSource = mul(l.matrix, toCommonFromSource);
    let toCommonFromTarget: Float64Array = Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    for (const l of down.links.slice(0, down.frames.indexOf(common))) toCommonFromTarget = mul(l.matrix, toCommonFromTarget);
    return { ok: true, matrix: mul(invert(toCommonFromTarget), toCommonFromSource) };
  }
}

/** xyz + roll-pitch-yaw (rad, fixed axes X then Y then Z) → geometry_msgs/Transform. */
export function transformFromXyzRpy(v: readonly number[]): TransformStamped['transform'] {
  const [x, y, z, roll, pitch, yaw] = v as [number, number, number, number, number, number];
  const [cr, sr, cp, sp, cy, sy] = [Math.cos(roll / 2), Math.sin(roll / 2), Math.cos(pitch / 2), Math.sin(pitch / 2), Math.cos(yaw / 2), Math.sin(yaw / 2)];
  return {
    translation: { x, y, z },
    rotation: { x: sr * cp * cy - cr * sp * sy, y: cr * sp * cy + sr * cp * sy, z: cr * cp * sy - sr * sp * cy, w: cr * cp * cy + sr * sp * sy },
  };
}

/** Latches `child` in `parent` on /tf_static (as tf2_ros's StaticTransformBroadcaster does). */
export function publishStaticTransform(node: RosNode, parent: string, child: string, transform: TransformStamped['transform']): void {
  const pub = node.createPublisher('tf2_msgs/msg/TFMessage', TF_STATIC_TOPIC, TF_STATIC_QOS);
  const t = node.now();
  pub.publish({ transforms: [{ header: { stamp: { sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) % 1_000_000_000 }, frame_id: parent }, child_frame_id: child, transform }] });
}
