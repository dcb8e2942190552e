// QoS profiles as data: the presets pamstack uses, ROS's matching rule, and rosbag2's YAML form.
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export interface QosProfile {
  history: 'keep_last' | 'keep_all';
  /** Queue depth for keep_last. */
  depth: number;
  reliability: 'reliable' | 'best_effort';
  durability: 'volatile' | 'transient_local';
}

/**
 * sensorData: cameras and clouds (KEEP_LAST 5, BEST_EFFORT, VOLATILE) — matches every publisher.
 * default: KEEP_LAST 10, RELIABLE, VOLATILE. command: e-stop, reset, primitives (RELIABLE, depth 10;
 * VOLATILE on purpose: a retained e-stop could never be retracted). latched: status topics
 * (KEEP_LAST 1, RELIABLE, TRANSIENT_LOCAL) so a late subscriber sees the current state.
 */
export const QOS = {
  sensorData: { history: 'keep_last', depth: 5, reliability: 'best_effort', durability: 'volatile' },
  default: { history: 'keep_last', depth: 10, reliability: 'reliable', durability: 'volatile' },
  command: { history: 'keep_last', depth: 10, reliability: 'reliable', durability: 'volatile' },
  latched: { history: 'keep_last', depth: 1, reliability: 'reliable', durability: 'transient_local' },
} as const satisfies Record<string, QosProfile>;

/**
 * Whether a subscription with `sub` receives from a publisher with `pub` (DDS request/offer rule):
 * a RELIABLE subscription does not match a BEST_EFFORT publisher, and a TRANSIENT_LOCAL subscription
 * does not match a VOLATILE publisher. Returns null when they match, else the reason.
 */
export function qosMismatch(pub: QosProfile, sub: QosProfile): string | null {
  if (sub.reliability === 'reliable' && pub.reliability === 'best_effort')
    return 'the subscription requests RELIABLE but the publisher offers BEST_EFFORT';
  if (sub.durability === 'transient_local' && pub.durability === 'volatile')
    return 'the subscription requests TRANSIENT_LOCAL but the publisher offers VOLATILE';
  return null;
}

// rmw enum values, as rosbag2 writes them in `offered_qos_profiles`.
const HISTORY = { keep_last: 1, keep_all: 2 } as const;
const RELIABILITY = { reliable: 1, best_effort: 2 } as const;
const DURABILITY = { transient_local: 1, volatile: 2 } as const;
const LIVELINESS_AUTOMATIC = 1;

/**
 * The `offered_qos_profiles` channel metadata rosbag2 writes: a YAML list with integer enums and
 * {sec, nsec} durations (0, 0 = unspecified), readable by Humble and Jazzy rosbag2.
 */
export function offeredQosYaml(profiles: readonly QosProfile[]): string {
  const zero = { sec: 0, nsec: 0 };
  return stringifyYaml(
    profiles.map((p) => ({
      history: HISTORY[p.history],
      depth: p.depth,
      reliability: RELIABILITY[p.reliability],
      durability: DURABILITY[p.durability],
      deadline: zero,
      lifespan: zero,
      liveliness: LIVELINESS_AUTOMATIC,
      liveliness_lease_duration: zero,
      avoid_ros_namespace_conventions: false,
    })),
  );
}

/**
 * Parses `offered_qos_profiles` as rosbag2 writes it (integer enums up to metadata version 8, strings
 * such as "reliable" from version 9). Unknown or system-default values become the ROS defaults.
 */
export function parseOfferedQosYaml(text: string): QosProfile[] {
  if (text.trim() === '') return [];
  const doc: unknown = parseYaml(text);
  if (!Array.isArray(doc)) throw new Error('offered_qos_profiles: expected a YAML list');
  return doc.map((raw, i) => {
    if (raw === null || typeof raw !== 'object') throw new Error(`offered_qos_profiles[${i}]: expected a mapping`);
    const r = raw as Record<string, unknown>;
    const depth = Number(r.depth ?? 0);
    return {
      history: pick(r.history, HISTORY, 'keep_last'),
      depth: Number.isFinite(depth) ? depth : 0,
      reliability: pick(r.reliability, RELIABILITY, 'reliable'),
      durability: pick(r.durability, DURABILITY, 'volatile'),
    };
  });
}

function pick<K extends string>(v: unknown, table: Record<K, number>, fallback: K): K {
  for (const [k, n] of Object.entries(table) as [K, number][]) if (v === n || v === k) return k;
  return fallback;
}
