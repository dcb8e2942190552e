// TypeScript shapes of the ROS 2 messages pamstack reads and writes, as CDR readers produce them.
//
// Numeric arrays of primitive type arrive as typed arrays (uint8[] → Uint8Array, float32[] →
// Float32Array); the writers accept either typed or plain arrays. Field names and order follow the
// Humble and Jazzy .msg files in @foxglove/rosmsg-msgs-common (identical for every type below).

/** builtin_interfaces/msg/Time: seconds and nanoseconds since the epoch (ROS time). */
export interface Time {
  sec: number;
  nanosec: number;
}
/** builtin_interfaces/msg/Duration. */
export type Duration = Time;

export interface Header {
  stamp: Time;
  frame_id: string;
}

// PointField and PointCloud2 are src/cloud's (the pack/unpack functions live there).
export type { PointCloud2, PointField } from '../cloud/pointcloud2.ts';
import type { PointCloud2 } from '../cloud/pointcloud2.ts';

export interface Point {
  x: number;
  y: number;
  z: number;
}
export type Vector3 = Point;
export interface Quaternion {
  x: number;
  y: number;
  z: number;
  w: number;
}
export interface Pose {
  position: Point;
  orientation: Quaternion;
}
export interface ColorRGBA {
  r: number;
  g: number;
  b: number;
  a: number;
}

export interface CompressedImage {
  header: Header;
  format: string;
  data: Uint8Array;
}
export interface UVCoordinate {
  u: number;
  v: number;
}
export interface MeshFile {
  filename: string;
  data: Uint8Array;
}

/** visualization_msgs/msg/Marker. Types: ARROW 0, SPHERE 2, LINE_STRIP 4, LINE_LIST 5, TEXT 9. */
export interface Marker {
  header: Header;
  ns: string;
  id: number;
  type: number;
  action: number;
  pose: Pose;
  scale: Vector3;
  color: ColorRGBA;
  lifetime: Duration;
  frame_locked: boolean;
  points: Point[];
  colors: ColorRGBA[];
  texture_resource: string;
  texture: CompressedImage;
  uv_coordinates: UVCoordinate[];
  text: string;
  mesh_resource: string;
  mesh_file: MeshFile;
  mesh_use_embedded_materials: boolean;
}

export interface MarkerArray {
  markers: Marker[];
}

export interface KeyValue {
  key: string;
  value: string;
}
/** diagnostic_msgs/msg/DiagnosticStatus; level OK 0, WARN 1, ERROR 2, STALE 3. */
export interface DiagnosticStatus {
  level: number;
  name: string;
  message: string;
  hardware_id: string;
  values: KeyValue[];
}

/** geometry_msgs/msg/TransformStamped: `child_frame_id` in `header.frame_id`. */
export interface TransformStamped {
  header: Header;
  child_frame_id: string;
  transform: { translation: Vector3; rotation: Quaternion };
}
/** tf2_msgs/msg/TFMessage (/tf and /tf_static). */
export interface TFMessage {
  transforms: TransformStamped[];
}

/** diagnostic_msgs/msg/DiagnosticArray: what every node publishes on /diagnostics. */
export interface DiagnosticArray {
  header: Header;
  status: DiagnosticStatus[];
}

export type Empty = Record<string, never>;
export interface Bool {
  data: boolean;
}
export interface StringMsg {
  data: string;
}

/** Every message type pamstack uses, by its full ROS 2 name. */
export interface MessagesMap {
  'builtin_interfaces/msg/Time': Time;
  'std_msgs/msg/Header': Header;
  'std_msgs/msg/Empty': Empty;
  'std_msgs/msg/Bool': Bool;
  'std_msgs/msg/String': StringMsg;
  'sensor_msgs/msg/PointCloud2': PointCloud2;
  'visualization_msgs/msg/Marker': Marker;
  'visualization_msgs/msg/MarkerArray': MarkerArray;
  'diagnostic_msgs/msg/DiagnosticStatus': DiagnosticStatus;
  'diagnostic_msgs/msg/DiagnosticArray': DiagnosticArray;
  'tf2_msgs/msg/TFMessage': TFMessage;
}
export type MessageTypeName = keyof MessagesMap;
export type MessageOf<T extends MessageTypeName> = MessagesMap[T];

/** The type names as a list, for checks at the edges. */
export const MESSAGE_TYPE_NAMES: readonly MessageTypeName[] = [
  'builtin_interfaces/msg/Time',
  'std_msgs/msg/Header',
  'std_msgs/msg/Empty',
  'std_msgs/msg/Bool',
  'std_msgs/msg/String',
  'sensor_msgs/msg/PointCloud2',
  'visualization_msgs/msg/Marker',
  'visualization_msgs/msg/MarkerArray',
  'diagnostic_msgs/msg/DiagnosticStatus',
  'diagnostic_msgs/msg/DiagnosticArray',
  'tf2_msgs/msg/TFMessage',
];

/** PointField datatypes. */
export const POINT_FIELD = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, FLOAT32: 7, FLOAT64: 8 } as const;
/** Marker types and actions used here. */
export const MARKER = { ARROW: 0, SPHERE: 2, LINE_STRIP: 4, LINE_LIST: 5, TEXT_VIEW_FACING: 9, ADD: 0, DELETE: 2, DELETEALL: 3 } as const;
/** DiagnosticStatus levels. */
export const DIAG = { OK: 0, WARN: 1, ERROR: 2, STALE: 3 } as const;

/** builtin_interfaces/Time → nanoseconds (bigint), as MCAP log times are. */
export function timeToNanoseconds(t: Time): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nanosec);
}
