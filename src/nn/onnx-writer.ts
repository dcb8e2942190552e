// Writes ONNX models (ModelProto) from TypeScript: a small graph builder over the onnx.proto subset it needs.
//
// The schema below is the subset of onnx/onnx.proto (field numbers as there) that an inference graph of
// float tensors needs; protobufjs encodes it by reflection, so no generated code and no Python.
import protobuf from 'protobufjs';

const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } },
        },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');
  return modelType;
}

/** onnx.TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
/** onnx.AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
/** The opset the graphs are written for: ReduceMean/ReduceMax keep `axes` as an attribute here. */
export const ONNX_OPSET = 17;
/** IR version 8 goes with opset 17 (onnx/helper.py VERSION_TABLE, onnx 1.12). */
const IR_VERSION = 8;

/** A dimension: a fixed size or a named free one ("N"). */
export type OnnxDim = number | string;
export type OnnxAttr = number | readonly number[] | string | { int: number } | { ints: readonly number[] };

interface Node {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: object[];
}

/**
 * Builds one ONNX graph: inputs, constant initialisers, nodes and outputs, then `toBytes()`.
 * Names are made unique by the builder; every `op` returns its output name(s).
 */
export class OnnxGraphBuilder {
  readonly #nodes: Node[] = [];
  readonly #inits: object[] = [];
  readonly #inputs: object[] = [];
  readonly #outputs: object[] = [];
  readonly #names = new Set<string>();
  readonly #scalars = new Map<string, string>();
  /** Constants by (requested name, data array): a weight used by every unrolled step is stored once. */
  readonly #consts = new Map<string, { data: unknown; name: string }[]>();
  #counter = 0;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  #fresh(base: string): string {
    let n = base;
    while (this.#names.has(n)) n = `${base}_${++this.#counter}`;
    this.#names.add(n);
    return n;
  }

  /** A float input [dims] (strings are free dimensions). */
  input(name: string, dims: readonly OnnxDim[], elemType = ONNX_FLOAT): string {
    const n = this.#fresh(name);
    if (n !== name) throw new Error(`onnx: input name ${name} already used`);
    this.#inputs.push(valueInfo(n, dims, elemType));
    return n;
  }

  /** Marks `value` as a graph output named `name` (an Identity when the names differ). */
  output(value: string, name: string, dims: readonly OnnxDim[], elemType = ONNX_FLOAT): string {
    const out = value === name ? value : this.op('Identity', [value], {}, name);
    this.#outputs.push(valueInfo(out, dims, elemType));
    return out;
  }

  /** A float32 constant; the same name with the same array again returns the first one. */
  constant(name: string, data: Float32Array | readonly number[], dims: readonly number[]): string {
    const seen = this.#consts.get(name) ?? [];
    const hit = seen.find((c) => c.data === data);
    if (hit) return hit.name;
    const n = this.#fresh(name);
    seen.push({ data, name: n });
    this.#consts.set(name, seen);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    const size = dims.reduce((a, b) => a * b, 1);
    if (f.length !== size) throw new Error(`onnx: constant ${name} has ${f.length} values for dims [${dims}]`);
    this.#inits.push({ name: n, dims, dataType: ONNX_FLOAT, rawData: littleEndianBytes(f) });
    return n;
  }

  /** An int64 constant (shapes, axes, indices). */
  int64(name: string, data: readonly number[], dims: readonly number[] = [data.length]): string {
    const n = this.#fresh(name);
    const bytes = new Uint8Array(data.length * 8);
    const view = new DataView(bytes.buffer);
    data.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.#inits.push({ name: n, dims, dataType: ONNX_INT64, rawData: bytes });
    return n;
  }

  /** A float32 scalar constant, shared by every use of the same value. */
  scalar(v: number): string {
    const key = String(Math.fround(v));
    let n = this.#scalars.get(key);
    if (!n) {
      n = this.constant('c', [v], []);
      this.#scalars.set(key, n);
    }
    return n;
  }

  /** One node; returns its single output name (`outputs` > 1: use {@link opN}). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, OnnxAttr> = {}, name?: string): string {
    return this.opN(opType, inputs, 1, attrs, name)[0]!;
  }

  /** One node with `count` outputs. */
  opN(opType: string, inputs: readonly string[], count: number, attrs: Record<string, OnnxAttr> = {}, name?: string): string[] {
    const base = name ?? opType.toLowerCase();
    const output = Array.from({ length: count }, (_, i) => this.#fresh(count > 1 ? `${base}_o${i}` : base));
    this.#nodes.push({ input: [...inputs], output, name: this.#fresh(`n_${base}`), opType, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return output;
  }

  /** The serialised ModelProto. */
  toBytes(docString = ''): Uint8Array {
    const T = modelProto();
    const msg = T.fromObject({
      irVersion: IR_VERSION,
      producerName: 'pamstack',
      producerVersion: '0.1.0',
      docString,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: { name: this.name, node: this.#nodes, initializer: this.#inits, input: this.#inputs, output: this.#outputs },
    });
    return T.encode(msg).finish();
  }

  // Helpers for the layers our networks use, written with the same arithmetic as the tfjs ops.

  /** x·W + b for x [.., in], W [in, out] (MatMul then Add, as tfjs's fused matMul). */
  dense(x: string, w: Float32Array, b: Float32Array | null, inDim: number, outDim: number, name: string): string {
    const y = this.op('MatMul', [x, this.constant(`${name}.w`, w, [inDim, outDim])]);
    return b ? this.op('Add', [y, this.constant(`${name}.b`, b, [outDim])]) : y;
  }

  /** LayerNorm over the last axis, eps 1e-5, as src/nn/layer-norm.ts: (x − mean)·rsqrt(var + eps)·g + b. */
  layerNorm(x: string, g: Float32Array, b: Float32Array, name: string): string {
    const mean = this.op('ReduceMean', [x], { axes: { ints: [-1] }, keepdims: { int: 1 } });
    const xc = this.op('Sub', [x, mean]);
    const v = this.op('ReduceMean', [this.op('Mul', [xc, xc])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
    const rstd = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [v, this.scalar(1e-5)])])]);
    const xhat = this.op('Mul', [xc, rstd]);
    return this.op('Add', [this.op('Mul', [xhat, this.constant(`${name}.g`, g, [g.length])]), this.constant(`${name}.b`, b, [b.length])]);
  }

  /** Mish through one sigmoid, exactly as src/nn/mish.ts: s = σ(x), p = s(2 − s), x·p/(2 − p). */
  mish(x: string): string {
    const s = this.op('Sigmoid', [x]);
    const p = this.op('Mul', [s, this.op('Sub', [this.scalar(2), s])]);
    return this.op('Mul', [x, this.op('Div', [p, this.op('Sub', [this.scalar(2), p])])]);
  }

  /** Clip to [lo, hi]. */
  clip(x: string, lo: number, hi: number): string {
    return this.op('Clip', [x, this.scalar(lo), this.scalar(hi)]);
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.int64('shape', shape)]);
  }

  /** x[..., start:end] along `axis`. */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.int64('starts', [start]), this.int64('ends', [end]), this.int64('axes', [axis])]);
  }
}

function valueInfo(name: string, dims: readonly OnnxDim[], elemType: number): object {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: OnnxAttr): object {
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: ATTR.FLOAT, f: v };
  if (Array.isArray(v)) return { name, type: ATTR.FLOATS, floats: v };
  if ('int' in (v as object)) return { name, type: ATTR.INT, i: (v as { int: number }).int };
  return { name, type: ATTR.INTS, ints: (v as { ints: readonly number[] }).ints };
}

function littleEndianBytes(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) view.setFloat32(i * 4, f[i]!, true);
  return out;
}
