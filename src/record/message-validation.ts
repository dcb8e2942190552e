// Strict checks of a message object against its ROS 2 definition, before it is written as CDR.
//
// The CDR writer silently writes zero for a missing or mistyped field, so a misspelt field name or a
// string where ROS expects a number would reach the robot as a valid-looking zero. These checks make
// such a message fail with the field's path, the ROS type and the value received.
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';

/** A message does not match its ROS 2 definition; `path` is e.g. `header.stamp.sec`. */
export class MessageFieldError extends Error {
  constructor(
    readonly type: string,
    readonly path: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`${type}: field ${path || '(root)'}: expected ${expected}, received ${describe(received)}`);
    this.name = 'MessageFieldError';
  }
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  byte: [0, 255],
  char: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

const TYPED_ARRAY_OK: Record<string, ((v: unknown) => boolean) | undefined> = {
  int8: (v) => v instanceof Int8Array,
  uint8: (v) => v instanceof Uint8Array || v instanceof Uint8ClampedArray,
  byte: (v) => v instanceof Uint8Array,
  char: (v) => v instanceof Uint8Array,
  int16: (v) => v instanceof Int16Array,
  uint16: (v) => v instanceof Uint16Array,
  int32: (v) => v instanceof Int32Array,
  uint32: (v) => v instanceof Uint32Array,
  int64: (v) => v instanceof BigInt64Array,
  uint64: (v) => v instanceof BigUint64Array,
  float32: (v) => v instanceof Float32Array || v instanceof Float64Array,
  float64: (v) => v instanceof Float64Array || v instanceof Float32Array,
};

/**
 * Throws a MessageFieldError for the first field of `msg` that does not match `definitions[root]`:
 * a missing field, an unknown field, a value of the wrong type or out of the type's range, or a
 * fixed-length array of the wrong length.
 */
export function validateMessage(type: string, definitions: readonly MessageDefinition[], msg: unknown): void {
  const byName = new Map(definitions.map((d) => [d.name ?? '', d.definitions]));
  const root = definitions.find((d) => !d.definitions.every((f) => f.isConstant === true) || d.definitions.length === 0);
  if (!root) throw new Error(`${type}: no root definition`);
  checkStruct(type, byName, root.definitions, msg, '');
}

function checkStruct(
  type: string,
  byName: Map<string, MessageDefinitionField[]>,
  fields: readonly MessageDefinitionField[],
  value: unknown,
  path: string,
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value))
    throw new MessageFieldError(type, path, 'a message object', value);
  const obj = value as Record<string, unknown>;
  const data = fields.filter((f) => f.isConstant !== true);
  const known = new Set(data.map((f) => f.name));
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) {
      const names = data.map((f) => f.name).join(', ') || '(none)';
      throw new MessageFieldError(type, join(path, key), `no such field (fields: ${names})`, obj[key]);
    }
  }
  for (const f of data) {
    const p = join(path, f.name);
    if (!(f.name in obj)) throw new MessageFieldError(type, p, `a ${fieldTypeName(f)} (field is missing)`, undefined);
    checkField(type, byName, f, obj[f.name], p);
  }
}

function checkField(
  type: string,
  byName: Map<string, MessageDefinitionField[]>,
  f: MessageDefinitionField,
  v: unknown,
  path: string,
): void {
  if (f.isArray === true) {
    const typedOk = TYPED_ARRAY_OK[f.type]?.(v) ?? false;
    if (!Array.isArray(v) && !typedOk) throw new MessageFieldError(type, path, `an array of ${f.type}`, v);
    const arr = v as ArrayLike<unknown>;
    if (f.arrayLength !== undefined && arr.length !== f.arrayLength)
      throw new MessageFieldError(type, path, `exactly ${f.arrayLength} items of ${f.type}`, `${arr.length} items`);
    if (f.arrayUpperBound !== undefined && arr.length > f.arrayUpperBound)
      throw new MessageFieldError(type, path, `at most ${f.arrayUpperBound} items`, `${arr.length} items`);
    if (typedOk) return; // typed arrays hold in-range values by construction
    for (let i = 0; i < arr.length; i++) checkScalar(type, byName, f, arr[i], `${path}[${i}]`);
    return;
  }
  checkScalar(type, byName, f, v, path);
}

function checkScalar(
  type: string,
  byName: Map<string, MessageDefinitionField[]>,
  f: MessageDefinitionField,
  v: unknown,
  path: string,
): void {
  if (f.isComplex === true) {
    const sub = byName.get(f.type);
    if (!sub) throw new Error(`${type}: definition of ${f.type} (field ${path}) is missing`);
    checkStruct(type, byName, sub, v, path);
    return;
  }
  switch (f.type) {
    case 'bool':
      if (typeof v !== 'boolean') throw new MessageFieldError(type, path, 'a bool', v);
      return;
    case 'string':
    case 'wstring':
      if (typeof v !== 'string') throw new MessageFieldError(type, path, 'a string', v);
      if (f.upperBound !== undefined && v.length > f.upperBound)
        throw new MessageFieldError(type, path, `a string of at most ${f.upperBound} characters`, v);
      return;
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') throw new MessageFieldError(type, path, `a ${f.type} number`, v);
      return;
    case 'int64':
    case 'uint64':
      if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v)))
        throw new MessageFieldError(type, path, `a ${f.type} (bigint or safe integer)`, v);
      if (f.type === 'uint64' && (typeof v === 'bigint' ? v < 0n : v < 0))
        throw new MessageFieldError(type, path, 'a uint64 ≥ 0', v);
      return;
    case 'time':
    case 'duration':
      checkTime(type, path, v);
      return;
    default: {
      const range = INT_RANGES[f.type];
      if (!range) throw new Error(`${type}: field ${path} has unsupported type ${f.type}`);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1])
        throw new MessageFieldError(type, path, `a ${f.type} integer in [${range[0]}, ${range[1]}]`, v);
    }
  }
}

function checkTime(type: string, path: string, v: unknown): void {
  if (v === null || typeof v !== 'object') throw new MessageFieldError(type, path, 'a time {sec, nanosec}', v);
  const t = v as Record<string, unknown>;
  const keys = Object.keys(t).sort().join(',');
  if (keys !== 'nanosec,sec') throw new MessageFieldError(type, path, 'a time with exactly {sec, nanosec}', v);
  if (typeof t.sec !== 'number' || !Number.isInteger(t.sec) || t.sec < -2147483648 || t.sec > 2147483647)
    throw new MessageFieldError(type, `${path}.sec`, 'an int32 integer', t.sec);
  if (typeof t.nanosec !== 'number' || !Number.isInteger(t.nanosec) || t.nanosec < 0 || t.nanosec > 999_999_999)
    throw new MessageFieldError(type, `${path}.nanosec`, 'an integer in [0, 999999999]', t.nanosec);
}

function fieldTypeName(f: MessageDefinitionField): string {
  return f.isArray === true ? `${f.type}[${f.arrayLength ?? ''}]` : f.type;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}
