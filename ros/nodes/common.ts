// Pieces every pamstack node shares: workspace parameters, diagnostics messages, the node handle.
import { FieldError } from '../../src/core/errors.ts';
import type { Vec3, WorkspaceBox } from '../../src/core/geometry.ts';
import { DIAG, QOS, type DiagnosticStatus, type KeyValue } from '../../src/record/index.ts';
import type { ParamDescriptor, RosNode, RosTimer } from '../port.ts';

/** A started node: `shutdown()` stops its loops and leaves the robot holding (where it commands one). */
export interface PamstackNode {
  readonly node: RosNode;
  shutdown(): Promise<void>;
}

/** Workspace box parameters (table frame, metres), shared by perception, policy and safety. */
export const WORKSPACE_PARAMS = {
  workspace_min: {
    type: 'double_array',
    description: 'workspace box lower corner [x, y, z], table frame, metres',
    default: [-0.6, -0.6, -0.05],
    length: 3,
    range: { from: -10, to: 10 },
  },
  workspace_max: {
    type: 'double_array',
    description: 'workspace box upper corner [x, y, z], table frame, metres',
    default: [0.6, 0.6, 0.6],
    length: 3,
    range: { from: -10, to: 10 },
  },
} as const satisfies Record<string, ParamDescriptor>;

/** The box from the two parameters; throws naming the axis when min is not below max. */
export function workspaceFrom(node: string, min: readonly number[], max: readonly number[]): WorkspaceBox {
  for (let i = 0; i < 3; i++)
    if (!(min[i]! < max[i]!))
      throw new FieldError(`${node}.workspace_min[${i}]`, `below workspace_max[${i}] = ${max[i]}`, min[i]);
  return { min: [min[0]!, min[1]!, min[2]!] as Vec3, max: [max[0]!, max[1]!, max[2]!] as Vec3 };
}

/** A diagnostic_msgs/DiagnosticStatus; values become strings. */
export function status(level: keyof typeof DIAG, name: string, message: string, values: Record<string, string | number | boolean> = {}, hardwareId = ''): DiagnosticStatus {
  const kv: KeyValue[] = Object.entries(values).map(([key, v]) => ({ key, value: String(v) }));
  return { level: DIAG[level], name, message, hardware_id: hardwareId, values: kv };
}

/** The aggregator topic (diagnostic_aggregator and rqt_robot_monitor read it). */
export const DIAGNOSTICS_TOPIC = '/diagnostics';

/**
 * Publishes `report()` as a diagnostic_msgs/DiagnosticArray on /diagnostics every `period` s (1 Hz,
 * as diagnostic_updater does by default) and once at start; hardware_id is the node name.
 */
export function diagnosticsTimer(node: RosNode, report: () => DiagnosticStatus | DiagnosticStatus[], period = 1): RosTimer {
  const pub = node.createPublisher('diagnostic_msgs/msg/DiagnosticArray', DIAGNOSTICS_TOPIC, QOS.default);
  const send = (): void => {
    const t = node.now();
    const list = [report()].flat().map((s) => ({ ...s, hardware_id: s.hardware_id || node.name }));
    pub.publish({ header: { stamp: { sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) % 1_000_000_000 }, frame_id: '' }, status: list });
  };
  send();
  return node.createTimer(period, send);
}

/** The value of `key` in a status, or undefined. */
export function statusValue(s: DiagnosticStatus, key: string): string | undefined {
  return s.values.find((v) => v.key === key)?.value;
}

/** `decision:<n>` → n (the id that links candidates, chosen primitive, refusals and results). */
export function decisionOf(s: DiagnosticStatus): number | null {
  const m = /^decision:(\d+)$/.exec(s.hardware_id);
  return m ? Number(m[1]) : null;
}
