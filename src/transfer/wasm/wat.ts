// A small WebAssembly text assembler: the subset kernels.wat uses (flat instructions, f64x2/f32x4 SIMD), no deps.
//
// Grammar: (module (memory (export "NAME") PAGES) (func (export "NAME") (param $x T)* (result T)?
// (local $x T)* INSTR*)*). Instructions are flat (block/loop/if … end); labels and locals are $names.

const TYPE: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Plain opcodes without immediates. */
const PLAIN: Record<string, number> = {
  unreachable: 0x00, nop: 0x01, else: 0x05, end: 0x0b, return: 0x0f, drop: 0x1a, select: 0x1b,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b, 'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.shl': 0x74,
  'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.sqrt': 0x9f, 'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2,
  'f64.div': 0xa3, 'f64.min': 0xa4, 'f64.max': 0xa5,
};
/** Loads and stores: opcode and natural alignment (log2 bytes). */
const MEM: Record<string, [number, number]> = {
  'i32.load': [0x28, 2], 'f64.load': [0x2b, 3], 'i32.store': [0x36, 2], 'f64.store': [0x39, 3],
};
/** SIMD (0xfd-prefixed) opcodes without immediates. */
const SIMD: Record<string, number> = {
  'f64x2.splat': 0x14, 'f64x2.abs': 0xec, 'f64x2.neg': 0xed, 'f64x2.sqrt': 0xef, 'f64x2.add': 0xf0,
  'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3, 'f64x2.min': 0xf4, 'f64x2.max': 0xf5,
  'f32x4.splat': 0x13, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6,
  'f64x2.eq': 0x47, 'f64x2.ne': 0x48, 'f64x2.lt': 0x49, 'f64x2.gt': 0x4a, 'f64x2.le': 0x4b, 'f64x2.ge': 0x4c,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.bitselect': 0x52,
  'f64x2.floor': 0x75, 'f64x2.nearest': 0x94, 'i64x2.shl': 0xcb, 'i64x2.add': 0xce,
};
/** SIMD memory opcodes and natural alignment. */
const SIMD_MEM: Record<string, [number, number]> = {
  'v128.load': [0x00, 4], 'v128.load32_splat': [0x09, 2], 'v128.load64_splat': [0x0a, 3], 'v128.store': [0x0b, 4],
};
/** SIMD lane opcodes (one lane-index byte). */
const SIMD_LANE: Record<string, number> = {
  'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20, 'f64x2.extract_lane': 0x21, 'f64x2.replace_lane': 0x22,
};

type Sexp = string | Sexp[];

function tokenize(src: string): string[] {
  const noComments = src.replace(/\(;[\s\S]*?;\)/g, ' ').replace(/;;[^\n]*/g, ' ');
  return noComments.match(/\(|\)|"[^"]*"|[^\s()]+/g) ?? [];
}

function parse(tokens: string[]): Sexp {
  let i = 0;
  const read = (): Sexp => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('wat: unexpected end of input');
    if (t !== '(') {
      if (t === ')') throw new Error('wat: unexpected )');
      return t;
    }
    const list: Sexp[] = [];
    while (tokens[i] !== ')') {
      if (i >= tokens.length) throw new Error('wat: missing )');
      list.push(read());
    }
    i++;
    return list;
  };
  const out = read();
  if (i !== tokens.length) throw new Error(`wat: trailing tokens after the module: ${tokens.slice(i, i + 5).join(' ')}`);
  return out;
}

function uleb(x: number): number[] {
  const out: number[] = [];
  do {
    let b = x & 0x7f;
    x >>>= 7;
    if (x !== 0) b |= 0x80;
    out.push(b);
  } while (x !== 0);
  return out;
}

function sleb(x: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = x & 0x7f;
    x >>= 7;
    if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(x: Sexp | undefined, what: string): string {
  if (typeof x !== 'string') throw new Error(`wat: expected ${what}, got ${JSON.stringify(x)}`);
  return x;
}

interface Func {
  exportName: string | null;
  params: number[];
  results: number[];
  locals: number[];
  code: number[];
}

function assembleFunc(form: Sexp[]): Func {
  let exportName: string | null = null;
  const params: number[] = [], results: number[] = [], locals: number[] = [];
  const localIndex = new Map<string, number>();
  let k = 1;
  if (typeof form[k] === 'string' && (form[k] as string).startsWith('$')) k++; // function name: unused
  for (; k < form.length && Array.isArray(form[k]); k++) {
    const f = form[k] as Sexp[];
    const head = str(f[0], 'a func field');
    if (head === 'export') exportName = JSON.parse(str(f[1], 'an export name')) as string;
    else if (head === 'param' || head === 'local') {
      const id = str(f[1], 'a $name');
      localIndex.set(id, localIndex.size);
      const t = TYPE[str(f[2], 'a type')];
      if (t === undefined) throw new Error(`wat: unknown type in ${id}`);
      (head === 'param' ? params : locals).push(t);
    } else if (head === 'result') results.push(TYPE[str(f[1], 'a type')]!);
    else throw new Error(`wat: unknown func field ${head}`);
  }
  const labels: (string | null)[] = [];
  const code: number[] = [];
  const local = (t: string | undefined): number => {
    const ix = localIndex.get(str(t, 'a local'));
    if (ix === undefined) throw new Error(`wat: unknown local ${t}`);
    return ix;
  };
  const depth = (t: string | undefined): number => {
    const l = str(t, 'a label');
    const d = labels.lastIndexOf(l);
    if (d < 0) throw new Error(`wat: unknown label ${l}`);
    return labels.length - 1 - d;
  };
  const memarg = (natural: number): number[] => {
    let offset = 0;
    let align = natural;
    while (typeof form[k] === 'string' && /^(offset|align)=/.test(form[k] as string)) {
      const [key, val] = (form[k++] as string).split('=');
      if (key === 'offset') offset = Number(val);
      else align = Math.log2(Number(val));
    }
    return [...uleb(align), ...uleb(offset)];
  };
  while (k < form.length) {
    const op = str(form[k++], 'an instruction');
    if (op in PLAIN) {
      code.push(PLAIN[op]!);
      if (op === 'end') labels.pop();
    } else if (op === 'block' || op === 'loop' || op === 'if') {
      let label: string | null = null;
      if (typeof form[k] === 'string' && (form[k] as string).startsWith('$')) label = form[k++] as string;
      labels.push(label);
      code.push(op === 'block' ? 0x02 : op === 'loop' ? 0x03 : 0x04, 0x40);
    } else if (op === 'br' || op === 'br_if') code.push(op === 'br' ? 0x0c : 0x0d, ...uleb(depth(form[k++] as string)));
    else if (op === 'local.get' || op === 'local.set' || op === 'local.tee')
      code.push(op === 'local.get' ? 0x20 : op === 'local.set' ? 0x21 : 0x22, ...uleb(local(form[k++] as string)));
    else if (op === 'i32.const') code.push(0x41, ...sleb(Number(str(form[k++], 'an i32'))));
    else if (op === 'f64.const') {
      const b = new Uint8Array(new Float64Array([Number(str(form[k++], 'an f64'))]).buffer);
      code.push(0x44, ...b);
    } else if (op in MEM) {
      const [opcode, natural] = MEM[op]!;
      code.push(opcode, ...memarg(natural));
    } else if (op in SIMD) code.push(0xfd, ...uleb(SIMD[op]!));
    else if (op in SIMD_MEM) {
      const [opcode, natural] = SIMD_MEM[op]!;
      code.push(0xfd, ...uleb(opcode), ...memarg(natural));
    } else if (op in SIMD_LANE) code.push(0xfd, ...uleb(SIMD_LANE[op]!), Number(str(form[k++], 'a lane')));
    else if (op === 'v128.const') {
      // only the form `v128.const f64x2 A B`
      if (form[k++] !== 'f64x2') throw new Error('wat: v128.const takes f64x2 lanes here');
      const b = new Uint8Array(new Float64Array([Number(form[k++]), Number(form[k++])]).buffer);
      code.push(0xfd, ...uleb(0x0c), ...b);
    } else throw new Error(`wat: unsupported instruction ${op}`);
  }
  if (labels.length !== 0) throw new Error('wat: unbalanced block/loop/if … end');
  code.push(0x0b); // the function's own end
  return { exportName, params, results, locals, code };
}

/** Assembles `src` (the subset above) into a binary module. */
export function assembleWat(src: string): Uint8Array<ArrayBuffer> {
  const mod = parse(tokenize(src));
  if (!Array.isArray(mod) || mod[0] !== 'module') throw new Error('wat: expected (module …)');
  let memory: { exportName: string | null; pages: number } | null = null;
  const funcs: Func[] = [];
  for (const f of mod.slice(1)) {
    if (!Array.isArray(f)) throw new Error(`wat: unexpected ${f} at module level`);
    if (f[0] === 'memory') {
      const ex = f.find((x): x is Sexp[] => Array.isArray(x) && x[0] === 'export');
      memory = { exportName: ex ? (JSON.parse(str(ex[1], 'an export name')) as string) : null, pages: Number(f[f.length - 1]) };
    } else if (f[0] === 'func') funcs.push(assembleFunc(f));
    else throw new Error(`wat: unsupported module field ${String(f[0])}`);
  }
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const exports: number[][] = [];
  funcs.forEach((f, i) => {
    if (f.exportName !== null) exports.push([...name(f.exportName), 0x00, ...uleb(i)]);
  });
  if (memory?.exportName) exports.push([...name(memory.exportName), 0x02, 0x00]);
  const bodies = funcs.map((f) => {
    // one local-declaration entry per local keeps the encoder trivial
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.code];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...(memory ? section(5, vec([[0x00, ...uleb(memory.pages)]])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}
