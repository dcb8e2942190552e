// sensor_msgs/msg/PointCloud2: the ROS message shape, validation, and pack/unpack into typed arrays.
import { FieldError } from '../core/errors.ts';
import type { FrameName } from '../core/geometry.ts';
import type { PointCloud } from '../core/pointcloud.ts';

/** `sensor_msgs/msg/PointField` datatype constants. */
export const PointFieldType = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  FLOAT32: 7,
  FLOAT64: 8,
} as const;
export type PointFieldDatatype = (typeof PointFieldType)[keyof typeof PointFieldType];

/** Bytes per element of each datatype (index = datatype). */
const SIZE = [0, 1, 1, 2, 2, 4, 4, 4, 8] as const;

/** Bytes per element of a PointField datatype, or 0 when unknown. */
export function pointFieldSize(datatype: number): number {
  return Number.isInteger(datatype) && datatype >= 1 && datatype <= 8 ? SIZE[datatype]! : 0;
}

/** `sensor_msgs/msg/PointField`. */
export interface PointField {
  name: string;
  /** Byte offset of the field inside one point. */
  offset: number;
  datatype: number;
  /** Elements in the field (1 for x, y, z, rgb). */
  count: number;
}

/**
 * `sensor_msgs/msg/PointCloud2` exactly as a decoded ROS 2 (CDR) message has it, so messages from
 * `@foxglove/rosmsg2-serialization` or rclnodejs pass straight in. Point (row r, column c) starts at
 * byte `r * row_step + c * point_step` of `data`.
 */
export interface PointCloud2 {
  header: { stamp: { sec: number; nanosec: number }; frame_id: string };
  height: number;
  width: number;
  fields: PointField[];
  is_bigendian: boolean;
  point_step: number;
  row_step: number;
  data: Uint8Array;
  is_dense: boolean;
}

const NATIVE_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Throws a FieldError naming the first malformed part: sizes, data length (row_step · height bytes),
 * unknown datatype, a field overrunning point_step, or a missing x, y or z.
 */
export function validatePointCloud2(msg: PointCloud2): void {
  const nonNegInt = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new FieldError(field, 'an integer >= 0', v);
  };
  if (msg === null || typeof msg !== 'object') throw new FieldError('PointCloud2', 'a message object', msg);
  nonNegInt(msg.height, 'height');
  nonNegInt(msg.width, 'width');
  nonNegInt(msg.point_step, 'point_step');
  nonNegInt(msg.row_step, 'row_step');
  if (!(msg.data instanceof Uint8Array)) throw new FieldError('data', 'a Uint8Array', typeof msg.data);
  if (!Array.isArray(msg.fields)) throw new FieldError('fields', 'an array of PointField', msg.fields);
  const n = msg.width * msg.height;
  if (msg.row_step < msg.width * msg.point_step)
    throw new FieldError('row_step', `at least width · point_step = ${msg.width} · ${msg.point_step} = ${msg.width * msg.point_step} bytes`, msg.row_step);
  const want = msg.row_step * msg.height;
  if (msg.data.length !== want)
    throw new FieldError('data', `row_step · height = ${msg.row_step} · ${msg.height} = ${want} bytes (width ${msg.width}, point_step ${msg.point_step})`, `${msg.data.length} bytes`);
  msg.fields.forEach((f, i) => {
    const at = `fields[${i}] (${JSON.stringify(f?.name)})`;
    if (typeof f?.name !== 'string') throw new FieldError(`fields[${i}].name`, 'a string', f?.name);
    const size = pointFieldSize(f.datatype);
    if (!size) throw new FieldError(`${at}.datatype`, 'one of INT8=1, UINT8=2, INT16=3, UINT16=4, INT32=5, UINT32=6, FLOAT32=7, FLOAT64=8', f.datatype);
    nonNegInt(f.offset, `${at}.offset`);
    nonNegInt(f.count, `${at}.count`);
    if (n > 0 && f.offset + size * Math.max(1, f.count) > msg.point_step)
      throw new FieldError(`${at}.offset`, `offset + ${size} · count within point_step = ${msg.point_step}`, f.offset);
  });
  for (const axis of ['x', 'y', 'z']) {
    if (!msg.fields.some((f) => f.name === axis)) throw new FieldError(`fields.${axis}`, `a field named "${axis}"`, msg.fields.map((f) => f.name).join(',') || 'no fields');
  }
}

function field(msg: PointCloud2, name: string): PointField {
  const f = msg.fields.find((q) => q.name === name);
  if (!f) throw new FieldError(`fields.${name}`, `a field named "${name}"`, msg.fields.map((q) => q.name).join(',') || 'no fields');
  return f;
}

type Getter = (view: DataView, byte: number) => number;

/** A reader of one element of `datatype` at a byte position. */
function getter(datatype: number, little: boolean): Getter {
  switch (datatype) {
    case 1: return (v, o) => v.getInt8(o);
    case 2: return (v, o) => v.getUint8(o);
    case 3: return (v, o) => v.getInt16(o, little);
    case 4: return (v, o) => v.getUint16(o, little);
    case 5: return (v, o) => v.getInt32(o, little);
    case 6: return (v, o) => v.getUint32(o, little);
    case 7: return (v, o) => v.getFloat32(o, little);
    case 8: return (v, o) => v.getFloat64(o, little);
    default: throw new FieldError('datatype', 'one of 1..8', datatype);
  }
}

type Setter = (view: DataView, byte: number, value: number) => void;

function setter(datatype: number, little: boolean): Setter {
  switch (datatype) {
    case 1: return (v, o, x) => v.setInt8(o, x);
    case 2: return (v, o, x) => v.setUint8(o, x);
    case 3: return (v, o, x) => v.setInt16(o, x, little);
    case 4: return (v, o, x) => v.setUint16(o, x, little);
    case 5: return (v, o, x) => v.setInt32(o, x, little);
    case 6: return (v, o, x) => v.setUint32(o, x, little);
    case 7: return (v, o, x) => v.setFloat32(o, x, little);
    case 8: return (v, o, x) => v.setFloat64(o, x, little);
    default: throw new FieldError('datatype', 'one of 1..8', datatype);
  }
}

/** Byte position of point k (row-major over height × width). */
function pointByte(msg: PointCloud2, k: number): number {
  if (msg.height <= 1) return k * msg.point_step;
  const r = Math.floor(k / msg.width);
  return r * msg.row_step + (k - r * msg.width) * msg.point_step;
}

/** x,y,z in table-ready form, plus which source points were kept. */
export interface Xyz {
  /** [n, 3] xyz, metres, in the message's frame. A copy (never a view of `data`). */
  points: Float32Array;
  /** Source point index (row-major) of each output point when points were dropped, else null. */
  sourceIndex: Uint32Array | null;
}

/**
 * Reads x,y,z of every point into a Float32Array, with no per-point objects. When the message is
 * not dense (`is_dense: false`) points with a NaN or infinite coordinate are dropped and
 * `sourceIndex` says which were kept. Validates the message first.
 */
export function readPointCloud2Xyz(msg: PointCloud2): Xyz {
  validatePointCloud2(msg);
  const n = msg.width * msg.height;
  const fx = field(msg, 'x'), fy = field(msg, 'y'), fz = field(msg, 'z');
  const out = new Float32Array(3 * n);
  const little = !msg.is_bigendian;
  let data = msg.data;
  const step = msg.point_step;
  const f32 = fx.datatype === 7 && fy.datatype === 7 && fz.datatype === 7;
  const layoutAligned = f32 && little === NATIVE_LITTLE && (step & 3) === 0 && (msg.row_step & 3) === 0 && ((fx.offset | fy.offset | fz.offset) & 3) === 0;
  // CDR decoders hand out views at any byte offset; one copy to an aligned buffer is far cheaper
  // than a DataView read per coordinate.
  if (layoutAligned && (data.byteOffset & 3) !== 0) data = data.slice();
  const aligned = layoutAligned;
  if (aligned) {
    // Fast path (most drivers): a Float32Array view over the whole buffer, strided reads.
    const view = new Float32Array(data.buffer, data.byteOffset, data.length >> 2);
    const s = step >> 2, ox = fx.offset >> 2, oy = fy.offset >> 2, oz = fz.offset >> 2;
    const rs = msg.row_step >> 2;
    let j = 0;
    for (let r = 0; r < msg.height; r++) {
      for (let c = 0, b = r * rs; c < msg.width; c++, b += s) {
        out[j++] = view[b + ox]!;
        out[j++] = view[b + oy]!;
        out[j++] = view[b + oz]!;
      }
    }
  } else {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const gx = getter(fx.datatype, little), gy = getter(fy.datatype, little), gz = getter(fz.datatype, little);
    let j = 0;
    for (let r = 0; r < msg.height; r++) {
      for (let c = 0, b = r * msg.row_step; c < msg.width; c++, b += step) {
        out[j++] = gx(dv, b + fx.offset);
        out[j++] = gy(dv, b + fy.offset);
        out[j++] = gz(dv, b + fz.offset);
      }
    }
  }
  if (msg.is_dense) return { points: out, sourceIndex: null };
  // Compact in place, keeping finite points (x - x is NaN exactly for NaN and ±Infinity).
  const keep = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = out[3 * i]!, y = out[3 * i + 1]!, z = out[3 * i + 2]!;
    if (x - x === 0 && y - y === 0 && z - z === 0) {
      out[3 * m] = x;
      out[3 * m + 1] = y;
      out[3 * m + 2] = z;
      keep[m++] = i;
    }
  }
  if (m === n) return { points: out, sourceIndex: null };
  return { points: out.slice(0, 3 * m), sourceIndex: keep.slice(0, m) };
}

/**
 * Every element of field `name` for every point (row-major), as numbers: [n · count] Float64Array.
 * Integers keep their value; use `readPointCloud2Rgb` for packed colour.
 */
export function readPointCloud2Field(msg: PointCloud2, name: string): Float64Array {
  validatePointCloud2(msg);
  const f = field(msg, name);
  const n = msg.width * msg.height;
  const size = pointFieldSize(f.datatype);
  const out = new Float64Array(n * f.count);
  const dv = new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  const g = getter(f.datatype, !msg.is_bigendian);
  for (let k = 0, j = 0; k < n; k++) {
    const b = pointByte(msg, k) + f.offset;
    for (let e = 0; e < f.count; e++) out[j++] = g(dv, b + e * size);
  }
  return out;
}

/**
 * Packed colour as RViz reads it: a 4-byte `rgb` (FLOAT32 or UINT32) or `rgba` field whose 32 bits
 * are 0xAARRGGBB. Returns [n, 3] Uint8 r,g,b for every point, or null when there is no such field.
 */
export function readPointCloud2Rgb(msg: PointCloud2): Uint8Array | null {
  validatePointCloud2(msg);
  const f = msg.fields.find((q) => q.name === 'rgb' || q.name === 'rgba');
  if (!f) return null;
  if (pointFieldSize(f.datatype) !== 4)
    throw new FieldError(`fields (${JSON.stringify(f.name)}).datatype`, 'a 4-byte packed colour: FLOAT32=7, UINT32=6 or INT32=5', f.datatype);
  const n = msg.width * msg.height;
  const out = new Uint8Array(3 * n);
  const little = !msg.is_bigendian;
  if (little === NATIVE_LITTLE && ((msg.point_step | msg.row_step | f.offset) & 3) === 0) {
    // Fast path: a Uint32Array view (over an aligned copy when the message is an unaligned view).
    const data = (msg.data.byteOffset & 3) === 0 ? msg.data : msg.data.slice();
    const u = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
    const s = msg.point_step >> 2, rs = msg.row_step >> 2, o = f.offset >> 2;
    let j = 0;
    for (let r = 0; r < msg.height; r++) {
      for (let c = 0, b = r * rs + o; c < msg.width; c++, b += s) {
        const v = u[b]!;
        out[j++] = (v >>> 16) & 255;
        out[j++] = (v >>> 8) & 255;
        out[j++] = v & 255;
      }
    }
    return out;
  }
  const dv = new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  for (let k = 0; k < n; k++) {
    const v = dv.getUint32(pointByte(msg, k) + f.offset, little);
    out[3 * k] = (v >>> 16) & 255;
    out[3 * k + 1] = (v >>> 8) & 255;
    out[3 * k + 2] = v & 255;
  }
  return out;
}

/** Seconds from a ROS stamp. */
export function stampToSeconds(stamp: { sec: number; nanosec: number }): number {
  return stamp.sec + stamp.nanosec * 1e-9;
}

/** A ROS stamp from seconds (nanoseconds rounded, carried into seconds at 1e9). */
export function secondsToStamp(t: number): { sec: number; nanosec: number } {
  let sec = Math.floor(t);
  let nanosec = Math.round((t - sec) * 1e9);
  if (nanosec >= 1e9) {
    sec += 1;
    nanosec -= 1e9;
  }
  return { sec, nanosec };
}

const FRAME_RE = /^(table|object|camera_.+)$/;

/**
 * A PointCloud (xyz, and rgb when the message has a packed colour) from a PointCloud2; NaN points
 * dropped when not dense. The frame is `opts.frame`, else the message's frame_id, which must then
 * be `table`, `object` or `camera_<name>`.
 */
export function unpackPointCloud2(msg: PointCloud2, opts?: { frame?: FrameName }): PointCloud {
  const { points, sourceIndex } = readPointCloud2Xyz(msg);
  const frame = opts?.frame ?? msg.header?.frame_id;
  if (typeof frame !== 'string' || !FRAME_RE.test(frame))
    throw new FieldError('header.frame_id', 'table, object or camera_<name> (or pass opts.frame)', frame);
  const stamp = stampToSeconds(msg.header.stamp);
  const rgbAll = readPointCloud2Rgb(msg);
  if (!rgbAll) return { points, frame: frame as FrameName, stamp };
  let rgb = rgbAll;
  if (sourceIndex) {
    rgb = new Uint8Array(3 * sourceIndex.length);
    for (let i = 0; i < sourceIndex.length; i++) {
      const s = sourceIndex[i]!;
      rgb[3 * i] = rgbAll[3 * s]!;
      rgb[3 * i + 1] = rgbAll[3 * s + 1]!;
      rgb[3 * i + 2] = rgbAll[3 * s + 2]!;
    }
  }
  return { points, frame: frame as FrameName, stamp, rgb };
}

/**
 * The standard layout: x, y, z FLOAT32 at 0, 4, 8 (point_step 12), plus packed `rgb` FLOAT32 at 12
 * (point_step 16) when the cloud has colour; little-endian, height 1, is_dense when every
 * coordinate is finite. frame_id is the cloud's frame unless `frameId` is given.
 */
export function packPointCloud2(cloud: PointCloud, opts?: { frameId?: string }): PointCloud2 {
  const n = Math.floor(cloud.points.length / 3);
  const hasRgb = cloud.rgb !== undefined;
  if (hasRgb && cloud.rgb!.length !== 3 * n) throw new FieldError('rgb.length', `3 · points = ${3 * n}`, cloud.rgb!.length);
  const step = hasRgb ? 16 : 12;
  const data = new Uint8Array(n * step);
  const f = new Float32Array(data.buffer);
  const u = new Uint32Array(data.buffer);
  const p = cloud.points;
  let dense = true;
  const s = step >> 2;
  for (let i = 0; i < n; i++) {
    const x = p[3 * i]!, y = p[3 * i + 1]!, z = p[3 * i + 2]!;
    f[i * s] = x;
    f[i * s + 1] = y;
    f[i * s + 2] = z;
    if (!(x - x === 0 && y - y === 0 && z - z === 0)) dense = false;
    if (hasRgb) {
      const c = cloud.rgb!;
      u[i * s + 3] = ((c[3 * i]! << 16) | (c[3 * i + 1]! << 8) | c[3 * i + 2]!) >>> 0;
    }
  }
  if (!NATIVE_LITTLE) {
    // Typed arrays wrote native (big-endian) order: swap every 4-byte word to little-endian.
    for (let i = 0; i < data.length; i += 4) {
      const a = data[i]!, b = data[i + 1]!;
      data[i] = data[i + 3]!;
      data[i + 1] = data[i + 2]!;
      data[i + 2] = b;
      data[i + 3] = a;
    }
  }
  const fields: PointField[] = [
    { name: 'x', offset: 0, datatype: PointFieldType.FLOAT32, count: 1 },
    { name: 'y', offset: 4, datatype: PointFieldType.FLOAT32, count: 1 },
    { name: 'z', offset: 8, datatype: PointFieldType.FLOAT32, count: 1 },
  ];
  if (hasRgb) fields.push({ name: 'rgb', offset: 12, datatype: PointFieldType.FLOAT32, count: 1 });
  return {
    header: { stamp: secondsToStamp(cloud.stamp), frame_id: opts?.frameId ?? cloud.frame },
    height: 1,
    width: n,
    fields,
    is_bigendian: false,
    point_step: step,
    row_step: n * step,
    data,
    is_dense: dense,
  };
}

/** A layout for `writePointCloud2`: any fields, padding, endianness and organized shape. */
export interface PointCloud2Layout {
  fields: PointField[];
  point_step: number;
  /** @default false */
  is_bigendian?: boolean;
  /** Rows (organized clouds, e.g. 480 for a 640×480 depth image). @default 1 */
  height?: number;
  /** Bytes per row; padding after each row when larger than width · point_step. @default width · point_step */
  row_step?: number;
  /** @default 'table' */
  frame_id?: string;
  /** @default 0 (seconds) */
  stamp?: number;
}

/**
 * Writes n points into an arbitrary layout. `columns[name]` holds n · count values for each field
 * (numbers converted to the field's datatype; a packed `rgb`/`rgba` column takes 0xRRGGBB integers
 * and is stored bit-for-bit). is_dense is set from the x,y,z values. Padding bytes are zero.
 */
export function writePointCloud2(layout: PointCloud2Layout, n: number, columns: Record<string, ArrayLike<number>>): PointCloud2 {
  const height = layout.height ?? 1;
  if (!Number.isInteger(n) || n < 0) throw new FieldError('n', 'an integer >= 0', n);
  if (!Number.isInteger(height) || height < 1 || n % height !== 0) throw new FieldError('height', `an integer >= 1 dividing n = ${n}`, height);
  const width = n / height;
  const rowStep = layout.row_step ?? width * layout.point_step;
  const msg: PointCloud2 = {
    header: { stamp: secondsToStamp(layout.stamp ?? 0), frame_id: layout.frame_id ?? 'table' },
    height,
    width,
    fields: layout.fields.map((f) => ({ ...f })),
    is_bigendian: layout.is_bigendian ?? false,
    point_step: layout.point_step,
    row_step: rowStep,
    data: new Uint8Array(Math.max(0, rowStep * height)),
    is_dense: true,
  };
  validatePointCloud2(msg);
  const dv = new DataView(msg.data.buffer);
  const little = !msg.is_bigendian;
  for (const f of msg.fields) {
    const col = columns[f.name];
    if (!col) throw new FieldError(`columns.${f.name}`, `${n * f.count} values for field "${f.name}"`, 'missing');
    if (col.length !== n * f.count) throw new FieldError(`columns.${f.name}.length`, `n · count = ${n * f.count}`, col.length);
    const packed = (f.name === 'rgb' || f.name === 'rgba') && pointFieldSize(f.datatype) === 4;
    const set = packed ? (v: DataView, o: number, x: number) => v.setUint32(o, x >>> 0, little) : setter(f.datatype, little);
    const size = pointFieldSize(f.datatype);
    for (let k = 0, j = 0; k < n; k++) {
      const b = pointByte(msg, k) + f.offset;
      for (let e = 0; e < f.count; e++) set(dv, b + e * size, col[j++]!);
    }
  }
  const x = columns.x!, y = columns.y!, z = columns.z!;
  for (let k = 0; k < n; k++) {
    if (!(Number.isFinite(x[k]) && Number.isFinite(y[k]) && Number.isFinite(z[k]))) {
      msg.is_dense = false;
      break;
    }
  }
  return msg;
}
