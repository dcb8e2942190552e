// What `ros2 launch` does with one of our launch XML files before a node starts, reproduced from the
// upstream sources so a test can start the nodes with exactly those parameters:
//   launch_xml/launch_xml/entity.py (ros2/launch @02595baf), Entity.get_attr: `value-sep` splits the
//     raw attribute text *before* any substitution is performed;
//   launch_ros/launch_ros/utilities/evaluate_parameters.py (ros2/launch_ros @f9ab9371),
//     evaluate_parameter_dict: after substitution a value is read with yaml.safe_load ('' → "''"),
//     must be bool/int/float/str or a non-empty list of one of those types;
//   launch_ros/launch_ros/actions/node.py (same commit), Node._perform_substitutions and
//     _create_params_file_from_dict: the namespace is made absolute, the full name is
//     prefix_namespace(ns, name), and the node's `<param name=…>` values go into a temporary file
//     `{<full name>: {ros__parameters: {...}}}` (`/**` when name or namespace is missing), passed as
//     `--params-file` in document order (parse_nested_parameters: one dict, so one file, per <param name>).
import { readFileSync } from 'node:fs';
import { isScalar, isSeq, parseDocument, type Scalar } from 'yaml';
import { nodeFqn } from '../../ros/param-files.ts';

export interface LaunchParam {
  name?: string;
  from?: string;
  value?: string;
  sep?: string;
}
export interface LaunchNode {
  pkg: string;
  exec: string;
  name?: string;
  namespace?: string;
  params: LaunchParam[];
}
export interface LaunchFile {
  args: Record<string, { default?: string; description?: string }>;
  nodes: LaunchNode[];
}

const attrsOf = (s: string): Record<string, string> =>
  Object.fromEntries([...s.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')]));

/** Reads a flat launch file (launch > arg | node > param), as ours are. */
export function readLaunchFile(path: string): LaunchFile {
  const text = readFileSync(path, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const args = Object.fromEntries([...text.matchAll(/<arg\s([^>]*?)\/>/g)].map((m) => { const a = attrsOf(m[1]!); return [a.name!, a]; }));
  const nodes = [...text.matchAll(/<node\s([^>]*)>([\s\S]*?)<\/node>/g)].map((m) => {
    const a = attrsOf(m[1]!);
    const params = [...m[2]!.matchAll(/<param\s([^>]*?)\/>/g)].map((p) => {
      const pa = attrsOf(p[1]!);
      return { name: pa.name, from: pa.from, value: pa.value, sep: pa['value-sep'] };
    });
    return { pkg: a.pkg!, exec: a.exec!, name: a.name, namespace: a.namespace, params };
  });
  return { args, nodes };
}

/** `$(var x)` and `$(find-pkg-share pkg)`; anything else is refused (the test must not guess). */
export function substitute(text: string, vars: Record<string, string>, share: Record<string, string>): string {
  return text.replace(/\$\(([\w-]+)\s+([^)]*)\)/g, (_, kind: string, arg: string) => {
    if (kind === 'var') {
      if (!(arg in vars)) throw new Error(`launch: $(var ${arg}) is not a declared argument`);
      return vars[arg]!;
    }
    if (kind === 'find-pkg-share') {
      if (!(arg in share)) throw new Error(`launch: package ${arg} not found`);
      return share[arg]!;
    }
    throw new Error(`launch: substitution $(${kind} …) is not reproduced here`);
  });
}

/** A value as PyYAML's safe_load (YAML 1.1, resolver.py) reads it: int and float kept apart. */
export type PyValue = { t: 'bool'; v: boolean } | { t: 'int'; v: number } | { t: 'float'; v: number } | { t: 'str'; v: string } | { t: 'null' } | { t: 'list'; v: PyValue[] };

const PY_BOOL = /^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const PY_INT = /^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$/;
const PY_FLOAT = /^([-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)?|\.[0-9_]+([eE][-+][0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$/;
const PY_NULL = /^(~|null|Null|NULL|)$/;

function pyScalar(s: Scalar): PyValue {
  const text = String(s.source ?? s.value);
  if (s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE') return { t: 'str', v: String(s.value) };
  if (PY_BOOL.test(text)) return { t: 'bool', v: /^(yes|true|on)$/i.test(text) };
  if (PY_INT.test(text)) return { t: 'int', v: Number(text.replaceAll('_', '')) };
  if (PY_FLOAT.test(text)) return { t: 'float', v: /nan/i.test(text) ? NaN : /inf/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number(text.replaceAll('_', '')) };
  if (PY_NULL.test(text)) return { t: 'null' };
  return { t: 'str', v: text };
}

export function pySafeLoad(text: string): PyValue {
  const doc = parseDocument(text, { schema: 'failsafe' });
  if (doc.errors.length) throw new Error(`yaml: ${doc.errors[0]!.message}`);
  const c = doc.contents;
  if (c === null) return { t: 'null' };
  if (isScalar(c)) return pyScalar(c);
  if (isSeq(c)) return { t: 'list', v: c.items.map((i) => (isScalar(i) ? pyScalar(i) : { t: 'null' as const })) };
  throw new Error('yaml: a mapping is not a parameter value');
}

function uniformList(items: PyValue[], name: string): PyValue {
  // evaluate_parameters.py, check_sequence_type_is_allowed: non-empty, one type of bool/int/float/str.
  const t = items[0]?.t;
  if (!t || !['bool', 'int', 'float', 'str'].includes(t) || items.some((i) => i.t !== t))
    throw new Error(`Expected a non-empty sequence, with items of uniform type. Allowed sequence item types are bool, int, float, str. Got inconsistent input for "${name}"`);
  return { t: 'list', v: items };
}

/** One `<param name value [value-sep]>` as launch_ros evaluates it. */
export function evaluateParam(p: LaunchParam, vars: Record<string, string>, share: Record<string, string>): PyValue {
  const name = p.name!;
  if (p.sep !== undefined) return uniformList(p.value!.split(p.sep).map((item) => pySafeLoad(substitute(item, vars, share))), name);
  let s = substitute(p.value!, vars, share);
  if (s.length === 0) s = "''";
  const v = pySafeLoad(s);
  if (v.t === 'list') return uniformList(v.v, name);
  if (v.t === 'null') throw new Error(`Allowed value types are bytes, bool, int, float, str, Sequence[…]. Got NoneType for "${name}"`);
  return v;
}

/** PyYAML's dump of a value, in a form rcl types the same way (floats keep a '.', strings quoted). */
function dumpValue(v: PyValue): string {
  switch (v.t) {
    case 'bool':
      return v.v ? 'true' : 'false';
    case 'int':
      return String(v.v);
    case 'float':
      return Number.isNaN(v.v) ? '.nan' : !Number.isFinite(v.v) ? (v.v > 0 ? '.inf' : '-.inf') : Number.isInteger(v.v) ? `${v.v}.0` : String(v.v);
    case 'str':
      return JSON.stringify(v.v);
    case 'null':
      return 'null';
    case 'list':
      return `[${v.v.map(dumpValue).join(', ')}]`;
  }
}

/** The plain JS value (what a node should end up with). */
export function pyToJs(v: PyValue): unknown {
  return v.t === 'list' ? v.v.map(pyToJs) : v.t === 'null' ? null : v.v;
}

export interface LaunchedNode {
  node: LaunchNode;
  /** Fully qualified name. */
  fqn: string;
  namespace: string;
  /** `--params-file` arguments in order: `{ path }` for `<param from>`, `{ text }` for the generated file. */
  paramsFiles: ({ path: string } | { text: string })[];
  /** The evaluated `<param name=…>` values. */
  values: Record<string, PyValue>;
}

/** What ros2 launch hands each node: its full name and its `--params-file` list. */
export function launchNodes(file: LaunchFile, given: Record<string, string>, share: Record<string, string>): LaunchedNode[] {
  const vars: Record<string, string> = {};
  for (const [k, a] of Object.entries(file.args)) {
    if (k in given) vars[k] = given[k]!;
    else if (a.default !== undefined) vars[k] = substitute(a.default, vars, share);
    else throw new Error(`launch: argument ${k} has no default and was not given`);
  }
  for (const k of Object.keys(given)) if (!(k in file.args)) throw new Error(`launch: unknown argument ${k}`);
  return file.nodes.map((n) => {
    const namespace = n.namespace !== undefined ? substitute(n.namespace, vars, share) : '';
    const name = n.name !== undefined ? substitute(n.name, vars, share) : undefined;
    const fqn = nodeFqn(name ?? n.exec, namespace);
    const key = name !== undefined && n.namespace !== undefined ? fqn : '/**';
    const paramsFiles: LaunchedNode['paramsFiles'] = [];
    const values: Record<string, PyValue> = {};
    for (const p of n.params) {
      if (p.from !== undefined) paramsFiles.push({ path: substitute(p.from, vars, share) });
      else {
        // node.py parse_nested_parameters: every <param name> is its own dict, hence its own file.
        const v = evaluateParam(p, vars, share);
        paramsFiles.push({ text: `${key}:\n  ros__parameters:\n    ${p.name}: ${dumpValue(v)}\n` });
        values[p.name!] = v;
      }
    }
    return { node: n, fqn, namespace, paramsFiles, values };
  });
}
