// Parameter resolution against upstream behaviour. Sources read (commit in brackets):
//   rcl   = ros2/rcl @c19dab55  rcl_yaml_param_parser/src/parse.c
//   rclcpp = ros2/rclcpp @0f42d78b rclcpp/src/rclcpp/parameter_map.cpp
//   rclnodejs = RobotWebTools/rclnodejs 2.2.0 (npm) lib/node.js, lib/parameter.js, src/rcl_bindings.cpp
import { describe, expect, it } from 'vitest';
import { InProcessPort, parseParamsYaml } from '../../ros/in-process.ts';
import { keyMatchesRclcpp, keyMatchesRclnodejs, nodeFqn, overrideAsDeclared, overridesFor, parseParamRule, parseRclParamsYaml, rclScalar, RclValue } from '../../ros/param-files.ts';
import { startSafety } from '../../ros/nodes/safety.ts';
import { ParamError, type ParamDescriptor } from '../../ros/port.ts';

const one = (yaml: string, key = '/n', name = 'p'): RclValue => parseRclParamsYaml(yaml).get(key)!.get(name)!;

describe('rcl scalar typing (rcl parse.c get_value, lines 79-221)', () => {
  it.each([
    // bool words: parse.c 102-145 (YAML 1.1 set, unquoted only)
    ['true', 'bool', true],
    ['On', 'bool', true],
    ['no', 'bool', false],
    // strtoll(value, &endptr, 0): parse.c 148-166 — base 0: hex and octal too
    ['42', 'integer', 42n],
    ['-7', 'integer', -7n],
    ['0x10', 'integer', 16n],
    ['010', 'integer', 8n],
    // strtod: parse.c 169-215, incl. .inf/.nan spellings
    ['0.5', 'double', 0.5],
    ['1e3', 'double', 1000],
    ['-.inf', 'double', -Infinity],
    // otherwise a string: parse.c 218-220
    ['/camera/points', 'string', '/camera/points'],
    ['rope-circle', 'string', 'rope-circle'],
  ])('%s → %s', (text, type, value) => {
    const v = rclScalar(text, false);
    expect(v.type).toBe(type);
    expect(v.value).toEqual(value);
  });

  it('quotes and !!str keep a string (parse.c 96-99, 102-103)', () => {
    expect(rclScalar('42', true)).toEqual(new RclValue('string', '42'));
    expect(one("/n:\n  ros__parameters:\n    p: '42'\n")).toEqual(new RclValue('string', '42'));
    expect(one('/n:\n  ros__parameters:\n    p: !!str true\n')).toEqual(new RclValue('string', 'true'));
  });
});

describe('rcl params files (rcl parse.c parse_key / parse_value)', () => {
  it('keeps node keys as written: "/perception" and "perception" are different nodes (MAP_NODE_NAME_LVL → find_node, lines 630-661, 1021-1050)', () => {
    const p = parseRclParamsYaml('/perception:\n  ros__parameters:\n    a: 1\nperception:\n  ros__parameters:\n    b: 2\n');
    expect([...p.keys()]).toEqual(['/perception', 'perception']);
  });

  it('nested keys before ros__parameters join with "/", nested parameter maps with "."', () => {
    const p = parseRclParamsYaml('cell1:\n  perception:\n    ros__parameters:\n      voxel:\n        size: 0.01\n');
    expect([...p.keys()]).toEqual(['cell1/perception']);
    expect(p.get('cell1/perception')!.get('voxel.size')).toEqual(new RclValue('double', 0.01));
  });

  it('a list takes the type of its first item; mixing types fails ("Sequence should be of same type", parse.c 310-436)', () => {
    expect(one('/n:\n  ros__parameters:\n    p: [0.1, 0.2]\n')).toEqual(new RclValue('double_array', [0.1, 0.2]));
    expect(one('/n:\n  ros__parameters:\n    p: [1, 2]\n')).toEqual(new RclValue('integer_array', [1n, 2n]));
    expect(one('/n:\n  ros__parameters:\n    p: [a, b]\n')).toEqual(new RclValue('string_array', ['a', 'b']));
    expect(() => parseRclParamsYaml('/n:\n  ros__parameters:\n    p: [0, 0.5]\n')).toThrow(/Sequence should be of same type. Value type 'double' do not belong/);
  });

  it('an empty list has no value: every rcl_variant_t pointer stays NULL (SEQUENCE_START/END with no scalar)', () => {
    expect(one('/n:\n  ros__parameters:\n    p: []\n')).toEqual(new RclValue('not_set', null));
  });

  it('ros__parameters needs a node name before it (parse.c 640-645)', () => {
    expect(() => parseRclParamsYaml('ros__parameters:\n  a: 1\n')).toThrow(/There are no node names before ros__parameters/);
  });

  it('-p rules: a bare name applies to every node, node:name to one (rcl arguments.c _rcl_parse_param_rule)', () => {
    expect([...parseParamRule('seed:=3')]).toEqual([['/**', new Map([['seed', new RclValue('integer', 3n)]])]]);
    expect([...parseParamRule('policy:seed:=3')]).toEqual([['policy', new Map([['seed', new RclValue('integer', 3n)]])]]);
  });
});

describe('which keys reach which node', () => {
  it.each([
    // rclcpp parameter_map.cpp, parameter_map_from: a missing '/' is added, then '/*' → (/\w+), '/**' → (/\w+)*
    ['/perception', '/perception', true],
    ['perception', '/perception', true],
    ['/**', '/cell1/perception', true],
    ['/*/perception', '/cell1/perception', true],
    ['/*/perception', '/perception', false],
    ['/**/perception', '/perception', true],
    ['/perception', '/cell1/perception', false],
    ['/cell1/perception', '/cell1/perception', true],
  ])('rclcpp: key %s applies to %s: %s', (key, fqn, yes) => {
    expect(keyMatchesRclcpp(key, fqn)).toBe(yes);
  });

  it("rclnodejs looks up only '/**' and the bare node name (lib/node.js _getNativeParameterOverrides: cliParamOverrides.get('/**'), .get(this.name())), so launch_ros's '/perception' key never reaches it", () => {
    expect(keyMatchesRclnodejs('/**', 'perception')).toBe(true);
    expect(keyMatchesRclnodejs('perception', 'perception')).toBe(true);
    expect(keyMatchesRclnodejs('/perception', 'perception')).toBe(false);
    // … which is why both ports resolve with the rclcpp rule:
    expect(keyMatchesRclcpp('/perception', nodeFqn('perception', ''))).toBe(true);
  });

  it('later sources and later entries win (rclcpp resolve_parameter_overrides: result[name] = value in order)', () => {
    const a = parseRclParamsYaml('/**:\n  ros__parameters:\n    seed: 1\n/policy:\n  ros__parameters:\n    seed: 2\n');
    const b = parseRclParamsYaml('/policy:\n  ros__parameters:\n    seed: 3\n');
    expect(overridesFor([{ name: 'a', params: a }], '/policy').get('seed')!.value).toEqual(new RclValue('integer', 2n));
    expect(overridesFor([{ name: 'a', params: a }, { name: 'b', params: b }], '/policy').get('seed')!.value).toEqual(new RclValue('integer', 3n));
    expect(overridesFor([{ name: 'a', params: a }], '/safety').get('seed')!.wildcard).toBe(true);
  });
});

describe('an override meets its declared parameter', () => {
  const dbl: ParamDescriptor = { type: 'double', description: '', default: 0 };
  const arr: ParamDescriptor = { type: 'double_array', description: '', default: [] };
  const strs: ParamDescriptor = { type: 'string_array', description: '', default: [] };

  it("the types must agree, as rclnodejs's ParameterDescriptor.validateParameter demands ('Type mismatch', lib/parameter.js)", () => {
    expect(() => overrideAsDeclared('n', 'timeout', dbl, new RclValue('integer', 60n))).toThrow(ParamError);
    expect(() => overrideAsDeclared('n', 'timeout', dbl, new RclValue('integer', 60n))).toThrow(/parameter timeout: expected a double \(write 60.0: rcl reads 60 as an integer\), received 60/);
    expect(() => overrideAsDeclared('n', 'b', arr, new RclValue('integer_array', [0n, 1n]))).toThrow(/write every item with a decimal point/);
    expect(() => overrideAsDeclared('n', 'cams', strs, new RclValue('string', '/a,/b'))).toThrow(/expected a string_array \(a YAML list, e.g. \[a, b\]\), received "\/a,\/b"/);
    expect(overrideAsDeclared('n', 'timeout', dbl, new RclValue('double', 60))).toBe(60);
  });

  it('an empty list becomes the empty array of the declared type instead of an undeclared parameter', () => {
    expect(overrideAsDeclared('n', 'reach_bases', arr, new RclValue('not_set', null))).toEqual([]);
    expect(() => overrideAsDeclared('n', 'timeout', dbl, new RclValue('not_set', null))).toThrow(/expected a double value \(the file gives none\)/);
  });

  it('the safety node starts with reach_bases: [] and with a namespaced full-name key', () => {
    const yaml = '/cell1/safety:\n  ros__parameters:\n    reach_bases: []\n    heartbeat_timeout: 0.25\n';
    const port = new InProcessPort(undefined, parseParamsYaml(yaml));
    startSafety(port, 'safety', 'cell1');
    expect(port.node('safety')!.parameters()).toMatchObject({ reach_bases: [], heartbeat_timeout: 0.25 });
    void port.shutdown();
  });
});
