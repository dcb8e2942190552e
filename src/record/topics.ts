// The topics pamstack's ROS 2 graph and its episode bags share: names (relative, so a launch
// namespace applies), message types and the QoS each publisher offers.
import { QOS, type QosProfile } from './qos.ts';
import type { MessageTypeName } from './ros-messages.ts';

export interface TopicSpec {
  name: string;
  type: MessageTypeName;
  qos: QosProfile;
  /** Who publishes it and what it carries, for the operators' table. */
  about: string;
}

/** Topics written into episode bags and read back for training. */
export const EPISODE_TOPICS = {
  objectCloud: {
    name: 'perception/object_cloud',
    type: 'sensor_msgs/msg/PointCloud2',
    qos: QOS.sensorData,
    about: 'perception: the preprocessed object cloud (x, y, z float32; table frame)',
  },
  candidates: {
    name: 'policy/candidates',
    type: 'visualization_msgs/msg/MarkerArray',
    qos: QOS.default,
    about: 'policy: the N candidates of a decision, coloured by score (red→green), unsafe at 30 % opacity',
  },
  executed: {
    name: 'executor/executed',
    type: 'visualization_msgs/msg/Marker',
    qos: QOS.command,
    about: 'executor bridge: each primitive the motion layer completed (ns pamstack/primitive)',
  },
  stepMetrics: {
    name: 'episode/metrics',
    type: 'diagnostic_msgs/msg/DiagnosticStatus',
    qos: QOS.default,
    about: 'sim bridge / eval: task metrics after each step (values: iou, coverage, chamfer, emd, success)',
  },
} as const satisfies Record<string, TopicSpec>;

/** Bag topic names are absolute (rosbag2 records fully qualified names). */
export function absoluteTopic(name: string, namespace = ''): string {
  if (name.startsWith('/')) return name;
  const ns = namespace.replace(/\/+$/, '');
  return `${ns.startsWith('/') || ns === '' ? ns : `/${ns}`}/${name}`;
}
