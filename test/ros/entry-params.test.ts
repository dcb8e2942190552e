import { describe, expect, it } from 'vitest';
import { InProcessPort, parseParamsYaml } from '../../ros/in-process.ts';
import { parseEntryArgs } from '../../ros/main.ts';
import { RclValue } from '../../ros/param-files.ts';
import { startSafety } from '../../ros/nodes/safety.ts';
import { ParamError, resolveParams, validateParam, type ParamSpec } from '../../ros/port.ts';

describe('entry point arguments', () => {
  it('keeps launch’s --ros-args for rclnodejs and reads the params files in them', () => {
    const a = parseEntryArgs(['policy', '--ros-args', '-r', '__node:=policy', '--params-file', '/tmp/a.yaml', '--params-file', '/tmp/b.yaml']);
    expect(a).toEqual({
      kind: 'policy',
      inProcess: false,
      paramsFiles: ['/tmp/a.yaml', '/tmp/b.yaml'],
      paramRules: [],
      rosArgv: ['--ros-args', '-r', '__node:=policy', '--params-file', '/tmp/a.yaml', '--params-file', '/tmp/b.yaml'],
    });
  });
  it.each([
    [[], /node: expected one of perception, policy, executor, safety, sim_bridge, preference_bridge, sim_stack/],
    [['planner'], /received "planner"/],
    [['safety', '--fast'], /unknown argument "--fast"/],
    [['sim_stack'], /sim_stack runs only with --in-process/],
  ])('refuses %j', (argv, re) => {
    expect(() => parseEntryArgs(argv as string[])).toThrow(re);
  });
});

describe('parameters', () => {
  const spec = {
    rate: { type: 'double', description: 'Hz', default: 5, range: { from: 0.1, to: 60 } },
    n: { type: 'integer', description: 'count', default: 8, range: { from: 1, to: 64, step: 1 } },
    mode: { type: 'string', description: 'mode', default: 'a', oneOf: ['a', 'b'] },
    box: { type: 'double_array', description: 'xyz', default: [0, 0, 0], length: 3 },
  } as const satisfies ParamSpec;

  it.each([
    ['rate', 0, /parameter rate: expected a number in \[0.1, 60\], received 0/],
    ['rate', 'fast', /parameter rate: expected a number in \[0.1, 60\], received "fast"/],
    ['n', 2.5, /parameter n: expected an integer in \[1, 64\], received 2.5/],
    ['n', 65n, /parameter n: expected an integer in \[1, 64\], received 65/],
    ['mode', 'c', /parameter mode: expected one of a, b, received "c"/],
    ['box', [1, 2], /parameter box: expected exactly 3 items, received \[1,2\]/],
  ])('%s = %s is refused, naming the parameter, the rule and the value', (name, value, re) => {
    expect(() => validateParam('node', name, spec[name as keyof typeof spec], value)).toThrow(ParamError);
    expect(() => validateParam('node', name, spec[name as keyof typeof spec], value)).toThrow(re);
  });

  it('rclnodejs INTEGER parameters (bigint) are accepted as numbers', () => {
    expect(validateParam('node', 'n', spec.n, 12n)).toBe(12);
  });

  it('a misspelt parameter in a node’s own section fails; a /** one applies only where declared', () => {
    expect(() => resolveParams('node', spec, { rtae: 5 })).toThrow(/parameter rtae: expected a declared parameter \(rate, n, mode, box\)/);
    const o = parseParamsYaml('/**:\n  ros__parameters:\n    rate: 10.0\n    other: 1\nsafety:\n  ros__parameters:\n    heartbeat_timeout: 0.25\n');
    expect(o).toEqual({ '/**': { rate: new RclValue('double', 10), other: new RclValue('integer', 1n) }, safety: { heartbeat_timeout: new RclValue('double', 0.25) } });
    expect(() => parseParamsYaml('safety: [1, 2]')).toThrow(/safety: Sequences can only be values and not keys in params/);
  });

  it('ros2 param set on a live node is validated and refused with the reason', () => {
    const port = new InProcessPort();
    startSafety(port);
    expect(port.setParameters('safety', { heartbeat_timeout: 0.2 })).toBeNull();
    expect(port.setParameters('safety', { heartbeat_timeout: 100 })).toMatch(/parameter heartbeat_timeout: expected a number in \[0.05, 60\], received 100/);
    expect(port.setParameters('safety', { workspace_min: [1, 1, 1] })).toMatch(/workspace_min\[0\]: expected below workspace_max\[0\] = 0.6, received 1/);
    expect(port.setParameters('safety', { reach_bases: [0, 0] })).toMatch(/reach_bases: expected a multiple of 3 numbers, received 2/);
    void port.shutdown();
  });
});
