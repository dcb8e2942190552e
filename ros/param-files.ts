// ROS 2 parameter overrides resolved the way the client libraries do: rcl's YAML parser
// (rcl_yaml_param_parser/src/parse.c) types every scalar and keeps node keys as written; rclcpp
// (rclcpp/src/rclcpp/parameter_map.cpp, parameter_map_from) adds a missing leading '/' and matches
// the node's fully qualified name with '/*' and '/**' wildcards. rclnodejs only looks up '/**' and the
// bare node name (lib/node.js, _getNativeParameterOverrides), so the '/perception' keys launch_ros
// writes never reach it: pamstack resolves overrides here, for both ports, the rclcpp way.
import { isMap, isScalar, isSeq, parseDocument, Scalar, type Node as YamlNode } from 'yaml';
import { ParamError, type ParamDescriptor, type ParamValueOf, type ParamType } from './port.ts';

/** rcl_variant_t's cases (rcl_yaml_param_parser/include/.../types.h); `not_set` = no value (e.g. `[]`). */
export type RclValueType =
  | 'not_set'
  | 'bool'
  | 'integer'
  | 'double'
  | 'string'
  | 'bool_array'
  | 'integer_array'
  | 'double_array'
  | 'string_array';

/** A parameter value as rcl typed it. Integers stay exact as bigint (int64). */
export class RclValue {
  constructor(
    readonly type: RclValueType,
    readonly value: boolean | bigint | number | string | readonly boolean[] | readonly bigint[] | readonly number[] | readonly string[] | null,
  ) {}
}

/** One parsed source: node key as written (namespace levels joined with '/') → parameter → value. */
export type RclParams = Map<string, Map<string, RclValue>>;

const PARAMS_KEY = 'ros__parameters';
const TRUE = new Set(['Y', 'y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSE = new Set(['N', 'n', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const SPECIAL_DOUBLE = /^[+-]?\.(nan|NaN|NAN|inf|Inf|INF)$/;
// strtoll(value, &end, 0): optional sign, then hex (0x), octal (leading 0) or decimal, to the end.
const INT = /^\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;
// strtod: decimal with optional exponent, or inf/infinity/nan (any case), to the end.
const DOUBLE = /^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i;

/**
 * One scalar typed as rcl's get_value does (parse.c, get_value): a `!!str` tag or quotes make a
 * string; otherwise the YAML 1.1 bool words, then strtoll (base 0), then strtod, then a string.
 */
export function rclScalar(text: string, quoted: boolean, strTag = false): RclValue {
  if (strTag || quoted) return new RclValue('string', text);
  if (TRUE.has(text)) return new RclValue('bool', true);
  if (FALSE.has(text)) return new RclValue('bool', false);
  if (INT.test(text)) {
    const t = text.trim();
    const neg = t.startsWith('-');
    const body = t.replace(/^[+-]/, '');
    const v = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body.startsWith('0') ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
    return new RclValue('integer', neg ? -v : v);
  }
  if (SPECIAL_DOUBLE.test(text)) {
    const v = /nan/i.test(text) ? NaN : Infinity;
    return new RclValue('double', text.startsWith('-') ? -v : v);
  }
  if (DOUBLE.test(text)) return new RclValue('double', Number(text.trim().replace(/^([+-]?)inf(inity)?$/i, '$1Infinity').replace(/^[+-]?nan$/i, 'NaN')));
  return new RclValue('string', text);
}

function scalarOf(node: Scalar): RclValue {
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
  return rclScalar(String(node.source ?? node.value ?? ''), quoted, node.tag === 'tag:yaml.org,2002:str');
}

/** A sequence: the first item fixes the type; another type is an error (parse.c, parse_value). */
function sequenceOf(items: RclValue[], where: string): RclValue {
  if (items.length === 0) return new RclValue('not_set', null);
  const t = items[0]!.type;
  for (const it of items)
    if (it.type !== t) throw new Error(`${where}: Sequence should be of same type. Value type '${it.type}' do not belong (first item is ${t})`);
  if (t !== 'bool' && t !== 'integer' && t !== 'double' && t !== 'string') throw new Error(`${where}: nested sequences are not parameter values`);
  return new RclValue(`${t}_array`, items.map((i) => i.value) as never);
}

/**
 * Parses a parameters YAML as rcl_parse_yaml_file does: mapping keys before `ros__parameters` form the
 * node name (joined with '/', kept as written: parse.c MAP_NODE_NAME_LVL → find_node), nested maps
 * below it form dotted parameter names, a repeated node key merges and a later value wins.
 */
export function parseRclParamsYaml(text: string, file = 'params'): RclParams {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: false });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  const out: RclParams = new Map();
  const root = doc.contents;
  if (root === null) return out;
  if (!isMap(root)) throw new Error(`${file}: expected a mapping of node names`);
  const params = (node: string, map: YamlNode, prefix: string, into: Map<string, RclValue>): void => {
    if (!isMap(map)) throw new Error(`${file}: ${node}: ${prefix || PARAMS_KEY}: expected a mapping of parameters`);
    for (const pair of map.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const name = prefix ? `${prefix}.${key}` : key;
      const v = pair.value as YamlNode | null;
      const where = `${file}: ${node}: ${name}`;
      if (v === null) throw new Error(`${where}: No value`);
      if (isMap(v)) params(node, v, name, into);
      else if (isSeq(v)) into.set(name, sequenceOf(v.items.map((i) => (isScalar(i) ? scalarOf(i) : (() => { throw new Error(`${where}: nested sequences or maps in a list are not parameter values`); })())), where));
      else if (isScalar(v)) {
        if (v.type === Scalar.PLAIN && String(v.source ?? '') === '') throw new Error(`${where}: No value`);
        into.set(name, scalarOf(v));
      } else throw new Error(`${where}: aliases are not supported`);
    }
  };
  const nodes = (map: YamlNode, ns: string[]): void => {
    if (!isMap(map)) throw new Error(`${file}: ${ns.join('/') || '(top)'}: expected a mapping`);
    for (const pair of map.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (key === PARAMS_KEY) {
        if (ns.length === 0) throw new Error(`${file}: There are no node names before ${PARAMS_KEY}`);
        const name = ns.join('/');
        let into = out.get(name);
        if (!into) out.set(name, (into = new Map()));
        params(name, pair.value as YamlNode, '', into);
      } else {
        if (isSeq(pair.value)) throw new Error(`${file}: ${[...ns, key].join('/')}: Sequences can only be values and not keys in params`);
        nodes(pair.value as YamlNode, [...ns, key]);
      }
    }
  };
  nodes(root, []);
  return out;
}

/**
 * A `-p [node:]name:=value` rule (rcl/src/rcl/arguments.c, _rcl_parse_param_rule): the value is
 * YAML typed like a params-file value; without a node the rule applies to every node ('/**').
 */
export function parseParamRule(rule: string): RclParams {
  const sep = rule.indexOf(':=');
  if (sep < 0) throw new Error(`-p ${rule}: expected name:=value`);
  const lhs = rule.slice(0, sep);
  const colon = lhs.indexOf(':');
  const node = colon < 0 ? '/**' : lhs.slice(0, colon);
  const name = colon < 0 ? lhs : lhs.slice(colon + 1);
  const wrapped = `${JSON.stringify(node)}:\n  ${PARAMS_KEY}:\n    ${JSON.stringify(name)}: ${rule.slice(sep + 2)}\n`;
  return parseRclParamsYaml(wrapped, `-p ${rule}`);
}

/** launch_ros's fully qualified name: namespace made absolute, then `/name` (prefix_namespace). */
export function nodeFqn(name: string, namespace = ''): string {
  const ns = `/${namespace.replace(/^\/+|\/+$/g, '')}`;
  return ns === '/' ? `/${name}` : `${ns}/${name}`;
}

/**
 * Whether a params key applies to the node `fqn` as rclcpp decides (parameter_map.cpp,
 * parameter_map_from): a leading '/' is added, then '/*' → one name token and '/**' → any number.
 */
export function keyMatchesRclcpp(key: string, fqn: string): boolean {
  const k = key.startsWith('/') ? key : `/${key}`;
  const re = k
    .split(/(\/\*\*|\/\*)/)
    .map((part) => (part === '/**' ? '(/\\w+)*' : part === '/*' ? '(/\\w+)' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`).test(fqn);
}

/** rclnodejs 2.x (lib/node.js, _getNativeParameterOverrides): '/**' first, then the bare name. */
export function keyMatchesRclnodejs(key: string, name: string): boolean {
  return key === '/**' || key === name;
}

/** One resolved override: the value and whether its key ends in a wildcard (lenient) or names the node. */
export interface ResolvedOverride {
  value: RclValue | unknown;
  wildcard: boolean;
  source: string;
}

/**
 * Every override that applies to `fqn`, sources in order (files, then -p rules as given) and entries
 * in file order, later winning (rclcpp/src/rclcpp/detail/resolve_parameter_overrides.cpp).
 */
export function overridesFor(sources: readonly { name: string; params: RclParams | Record<string, Record<string, unknown>> }[], fqn: string): Map<string, ResolvedOverride> {
  const out = new Map<string, ResolvedOverride>();
  for (const s of sources) {
    const entries = s.params instanceof Map ? [...s.params].map(([k, v]) => [k, [...v]] as const) : Object.entries(s.params).map(([k, v]) => [k, Object.entries(v)] as const);
    for (const [key, vals] of entries) {
      if (!keyMatchesRclcpp(key, fqn)) continue;
      // A key ending in a wildcard (`/**`, `/ns/*`) does not name the node: its unknown names are not errors.
      const wildcard = /(^|\/)\*\*?$/.test(key);
      for (const [name, value] of vals) out.set(name, { value, wildcard, source: `${s.name} (${key})` });
    }
  }
  return out;
}

const RCL_FOR: Record<ParamType, RclValueType> = {
  bool: 'bool',
  integer: 'integer',
  double: 'double',
  string: 'string',
  double_array: 'double_array',
  string_array: 'string_array',
};

/**
 * An override as the declared parameter: rclnodejs refuses a type other than the descriptor's
 * (lib/parameter.js, ParameterDescriptor.validateParameter: 'Type mismatch'), so `1` for a double
 * fails naming the fix. A value-less entry (`[]` or `~`) becomes the declared array type's empty
 * array: rcl gives it no type and rclnodejs would undeclare the parameter (lib/node.js,
 * _setParametersAtomically, PARAMETER_NOT_SET). Plain JS values (tests, code) pass through.
 */
export function overrideAsDeclared(node: string, name: string, d: ParamDescriptor, o: RclValue | unknown): unknown {
  if (!(o instanceof RclValue)) return o;
  const want = RCL_FOR[d.type];
  if (o.type === 'not_set') {
    if (d.type === 'double_array' || d.type === 'string_array') return [];
    throw new ParamError(node, name, `a ${want} value (the file gives none)`, null);
  }
  if (o.type === want) return o.type === 'integer' ? Number(o.value as bigint) : o.type === 'integer_array' ? (o.value as bigint[]).map(Number) : o.value;
  const hint =
    want === 'double' && o.type === 'integer'
      ? ` (write ${String(o.value)}.0: rcl reads ${String(o.value)} as an integer)`
      : want === 'double_array' && o.type === 'integer_array'
        ? ' (write every item with a decimal point: rcl types the list by its first item)'
        : want === 'string_array' && o.type === 'string'
          ? ' (a YAML list, e.g. [a, b])'
          : '';
  throw new ParamError(node, name, `a ${want}${hint}`, typeof o.value === 'bigint' ? Number(o.value) : Array.isArray(o.value) ? o.value.map((x) => (typeof x === 'bigint' ? Number(x) : x)) : o.value);
}

export type { ParamValueOf };
