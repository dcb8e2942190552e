// ROS 2 CDR encoding of messages with the real .msg definitions of a distro (Humble or Jazzy).
//
// Definitions come from @foxglove/rosmsg-msgs-common (the concatenated text rosbag2 stores as the MCAP
// schema), parsed with @foxglove/rosmsg; bytes are written and read by @foxglove/rosmsg2-serialization.
// Every message is validated against its definition first (see message-validation.ts), so a field
// that does not exist in ROS fails here instead of becoming a silent zero on the robot.
import { CdrWriter } from '@foxglove/cdr';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { parse } from '@foxglove/rosmsg';
import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { validateMessage } from './message-validation.ts';
import type { MessageOf, MessageTypeName } from './ros-messages.ts';

export const ROS_DISTROS = ['humble', 'jazzy'] as const;
export type RosDistro = (typeof ROS_DISTROS)[number];

/**
 * `pkg/msg/Type` (ROS 2 full name); `pkg/Type` is accepted and normalised. Service and action parts
 * (`pkg/srv/Name_Request`, `pkg/action/Name_Goal`) exist only once registered (see `register`).
 */
const TYPE_RE = /^([a-z][a-z0-9_]*)\/(?:(msg|srv|action)\/)?([A-Z][A-Za-z0-9_]*)$/;

/** A parsed schema with its CDR writer and reader. */
export interface SchemaCodec {
  text: string;
  definitions: MessageDefinition[];
  writer: MessageWriter;
  reader: MessageReader;
}

const msgdefsRoot = join(
  dirname(createRequire(import.meta.url).resolve('@foxglove/rosmsg-msgs-common/package.json')),
  'msgdefs',
);

/**
 * CDR strings are UTF-8 bytes with a uint32 length that counts the bytes and the NUL (Fast-CDR,
 * src/cpp/Cdr.cpp, `Cdr::serialize(const char*)`: `length = strlen(string_t) + 1`). @foxglove/cdr 3.5's
 * `CdrWriter.string` takes the length from `value.length` (UTF-16 units), so any non-ASCII string was
 * written truncated ("héllo wörld" read back "héllo wör"). Its writer grows the buffer on demand, so
 * replacing this one method corrects every message @foxglove/rosmsg2-serialization writes.
 */
const utf8 = new TextEncoder();
interface CdrWriterInternals {
  offset: number;
  array: Uint8Array;
  view: DataView;
  resizeIfNeeded(bytes: number): void;
  uint32(v: number): unknown;
}
CdrWriter.prototype.string = function string(this: CdrWriter, value: string, writeLength = true): CdrWriter {
  const w = this as unknown as CdrWriterInternals;
  const bytes = utf8.encode(value);
  if (writeLength) w.uint32(bytes.length + 1);
  w.resizeIfNeeded(bytes.length + 1);
  w.array.set(bytes, w.offset);
  w.view.setUint8(w.offset + bytes.length, 0);
  w.offset += bytes.length + 1;
  return this;
};

const codecs = new Map<RosDistro, RosMessageCodec>();

/** Serializes and deserializes ROS 2 messages of one distro. Build with `RosMessageCodec.for(distro)`. */
export class RosMessageCodec {
  readonly distro: RosDistro;
  #entries = new Map<string, SchemaCodec>();

  private constructor(distro: RosDistro) {
    this.distro = distro;
  }

  /** The shared codec of a distro (definitions are parsed once per type). */
  static for(distro: RosDistro): RosMessageCodec {
    if (!(ROS_DISTROS as readonly string[]).includes(distro))
      throw new Error(`distro: expected one of ${ROS_DISTROS.join(', ')}, received ${JSON.stringify(distro)}`);
    let c = codecs.get(distro);
    if (!c) codecs.set(distro, (c = new RosMessageCodec(distro)));
    return c;
  }

  /** `pkg/Type` or `pkg/msg/Type` → `pkg/msg/Type`; throws on anything else. */
  static normalizeType(type: string): string {
    const m = TYPE_RE.exec(type);
    if (!m) throw new Error(`message type: expected pkg/msg/Type, received ${JSON.stringify(type)}`);
    return `${m[1]}/${m[2] ?? 'msg'}/${m[3]}`;
  }

  /**
   * Adds a type the bundled definitions lack (e.g. moveit_msgs, control_msgs, service and action
   * parts), from its full concatenated schema text; a type already known keeps its definition.
   */
  register(type: string, schemaText: string): void {
    const name = RosMessageCodec.normalizeType(type);
    if (!this.#entries.has(name)) this.#entries.set(name, fromSchemaText(schemaText));
  }

  /** Whether the distro's definitions include `type`. */
  has(type: string): boolean {
    try {
      this.#entry(type);
      return true;
    } catch {
      return false;
    }
  }

  /** The full concatenated .msg text (root first, then each dependency after a line of 80 '='). */
  schemaText(type: string): string {
    return this.#entry(type).text;
  }

  /** Parsed definitions, root first. */
  definitions(type: string): MessageDefinition[] {
    return this.#entry(type).definitions;
  }

  /** A message of `type` with every field at its ROS default, then `fields` laid over it (deeply). */
  create<T extends MessageTypeName>(type: T, fields?: DeepPartial<MessageOf<T>>): MessageOf<T>;
  create(type: string, fields?: Record<string, unknown>): Record<string, unknown>;
  create(type: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
    const defs = this.definitions(type);
    const byName = new Map(defs.map((d) => [d.name ?? '', d.definitions]));
    const root = defs[0]!.definitions;
    return fillStruct(root, byName, fields) as Record<string, unknown>;
  }

  /** Validates `msg` against the definition, then writes CDR (4-byte encapsulation header first). */
  serialize<T extends MessageTypeName>(type: T, msg: MessageOf<T>): Uint8Array;
  serialize(type: string, msg: unknown): Uint8Array;
  serialize(type: string, msg: unknown): Uint8Array {
    const e = this.#entry(type);
    validateMessage(RosMessageCodec.normalizeType(type), e.definitions, msg);
    return e.writer.writeMessage(msg);
  }

  /** Reads CDR bytes into a message object (typed arrays for numeric arrays). */
  deserialize<T extends MessageTypeName>(type: T, bytes: ArrayBufferView): MessageOf<T>;
  deserialize(type: string, bytes: ArrayBufferView): unknown;
  deserialize(type: string, bytes: ArrayBufferView): unknown {
    return this.#entry(type).reader.readMessage(bytes);
  }

  #entry(type: string): SchemaCodec {
    const name = RosMessageCodec.normalizeType(type);
    let e = this.#entries.get(name);
    if (e) return e;
    const [pkg, , base] = name.split('/');
    const file = join(msgdefsRoot, `ros2${this.distro}`, pkg!, 'msg', `${base}.msg`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new Error(`message type ${name} is not among the ${this.distro} definitions of @foxglove/rosmsg-msgs-common`);
    }
    e = fromSchemaText(text);
    this.#entries.set(name, e);
    return e;
  }
}

/** Parses a `ros2msg` schema text (as stored in MCAP) into definitions with a writer and reader. */
export function fromSchemaText(text: string): SchemaCodec {
  const definitions = parse(text, { ros2: true });
  return { text, definitions, writer: new MessageWriter(definitions), reader: new MessageReader(definitions) };
}

export type DeepPartial<T> = T extends ArrayBufferView | readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

const TYPED_ARRAY_CTORS: Record<string, (n: number) => ArrayLike<unknown>> = {
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  byte: (n) => new Uint8Array(n),
  char: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n),
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
};

function defaultStruct(fields: readonly MessageDefinitionField[], byName: Map<string, MessageDefinitionField[]>): object {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.isConstant === true) continue;
    out[f.name] = defaultField(f, byName);
  }
  return out;
}

function defaultField(f: MessageDefinitionField, byName: Map<string, MessageDefinitionField[]>): unknown {
  if (f.isArray === true) {
    const n = f.arrayLength ?? 0;
    if (f.defaultValue !== undefined && Array.isArray(f.defaultValue)) return [...f.defaultValue];
    const typed = TYPED_ARRAY_CTORS[f.type];
    if (typed && f.isComplex !== true) return typed(n);
    return Array.from({ length: n }, () => defaultScalar(f, byName));
  }
  return defaultScalar(f, byName);
}

function defaultScalar(f: MessageDefinitionField, byName: Map<string, MessageDefinitionField[]>): unknown {
  if (f.isComplex === true) return defaultStruct(byName.get(f.type) ?? [], byName);
  if (f.defaultValue !== undefined && !Array.isArray(f.defaultValue)) return f.defaultValue;
  switch (f.type) {
    case 'bool':
      return false;
    case 'string':
    case 'wstring':
      return '';
    case 'int64':
    case 'uint64':
      return 0n;
    case 'time':
    case 'duration':
      return { sec: 0, nanosec: 0 };
    default:
      return 0;
  }
}

/**
 * The defaults of a struct with `top` laid over it, following the definition: nested structs and the
 * items of struct arrays are completed too (a trajectory's points need every field on the wire).
 * Keys the definition lacks are kept, so validation names them.
 */
function fillStruct(fields: readonly MessageDefinitionField[], byName: Map<string, MessageDefinitionField[]>, top: unknown): object {
  const base = defaultStruct(fields, byName) as Record<string, unknown>;
  if (top === undefined || top === null || typeof top !== 'object' || Array.isArray(top) || ArrayBuffer.isView(top)) return top === undefined ? base : (top as object);
  const given = top as Record<string, unknown>;
  for (const f of fields) {
    if (f.isConstant === true || given[f.name] === undefined) continue;
    const v = given[f.name];
    if (f.isComplex === true) {
      const sub = byName.get(f.type) ?? [];
      base[f.name] = f.isArray === true ? (Array.isArray(v) ? v.map((item) => fillStruct(sub, byName, item)) : v) : fillStruct(sub, byName, v);
    } else base[f.name] = overlay(base[f.name], v);
  }
  for (const k of Object.keys(given)) if (!(k in base)) base[k] = given[k];
  return base;
}

function overlay(base: unknown, top: unknown): unknown {
  if (top === undefined) return base;
  if (
    top === null ||
    typeof top !== 'object' ||
    Array.isArray(top) ||
    ArrayBuffer.isView(top) ||
    base === null ||
    typeof base !== 'object' ||
    Array.isArray(base) ||
    ArrayBuffer.isView(base)
  )
    return top;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(top as Record<string, unknown>)) out[k] = overlay(out[k], v);
  return out;
}
