// The rclnodejs adapter's parameter path with a stand-in rclnodejs module whose override lookup follows
// rclnodejs 2.2 (lib/node.js: _getNativeParameterOverrides keeps '/**' then the bare node name;
// _declareParameters replaces a declared parameter by its override unless ignoreOverride is true).
// The adapter must resolve launch_ros's '/<ns>/<name>' keys itself and declare with ignoreOverride.
import { describe, expect, it } from 'vitest';
import { parseEntryArgs, loadParamSources } from '../../ros/main.ts';
import { parseRclParamsYaml } from '../../ros/param-files.ts';
import { RclnodejsPort } from '../../ros/rclnodejs-port.ts';
import { startSafety } from '../../ros/nodes/safety.ts';
import type { RclNodejsModule } from '../../ros/rclnodejs-api.ts';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** rcl's parsed overrides as rclnodejs sees them: node keys exactly as written in the file. */
function fakeRcl(cliOverrides: Map<string, Map<string, unknown>>) {
  const declared: { node: string; name: string; value: unknown; ignoreOverride: boolean }[] = [];
  class Parameter {
    constructor(
      readonly name: string,
      readonly type: number,
      public value?: unknown,
    ) {}
  }
  class Node {
    #name: string;
    #ns: string;
    #params = new Map<string, Parameter>();
    constructor(name: string, ns = '') {
      this.#name = name;
      this.#ns = ns;
    }
    name() {
      return this.#name;
    }
    namespace() {
      return this.#ns === '' ? '/' : this.#ns;
    }
    getLogger() {
      return { info: () => true, warn: () => true, error: () => true };
    }
    spin() {}
    now() {
      return { nanoseconds: 0n };
    }
    declareParameter(p: Parameter, _d?: unknown, ignoreOverride = false) {
      const o = { ...Object.fromEntries(cliOverrides.get('/**') ?? []), ...Object.fromEntries(cliOverrides.get(this.#name) ?? []) };
      const v = !ignoreOverride && p.name in o ? new Parameter(p.name, p.type, o[p.name]) : p;
      declared.push({ node: this.#name, name: p.name, value: v.value, ignoreOverride });
      this.#params.set(p.name, v);
      return v;
    }
    getParameter(name: string) {
      return this.#params.get(name)!;
    }
    addOnSetParametersCallback() {}
    createPublisher() {
      return { publish() {} };
    }
    createSubscription() {}
    createTimer() {
      return { cancel() {} };
    }
    destroy() {}
  }
  class Desc {
    constructor(..._a: unknown[]) {}
  }
  const mod = {
    init: async () => {},
    removeSignalHandlers() {},
    shutdown() {},
    isShutdown: () => false,
    Node,
    QoS: Desc,
    Parameter,
    ParameterDescriptor: Desc,
    FloatingPointRange: Desc,
    IntegerRange: Desc,
    ActionClient: Desc,
  } as unknown as RclNodejsModule;
  return { mod, declared };
}

describe('rclnodejs adapter parameters', () => {
  it("resolves the launch-generated '/cell1/safety' key that rclnodejs's own lookup misses, and declares with ignoreOverride", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pamstack-rclparams-'));
    try {
      const robot = join(dir, 'robot.yaml');
      const launch = join(dir, 'launch_params_0');
      writeFileSync(robot, '/**:\n  ros__parameters:\n    workspace_min: [-0.4, -0.3, 0.0]\n/**/safety:\n  ros__parameters:\n    reach_bases: []\n');
      writeFileSync(launch, '/cell1/safety:\n  ros__parameters:\n    heartbeat_timeout: 0.25\n');
      const args = parseEntryArgs(['safety', '--ros-args', '-r', '__node:=safety', '-r', '__ns:=/cell1', '--params-file', robot, '--params-file', launch, '-p', '/cell1/safety:max_span:=0.7']);
      expect(args.paramRules).toEqual(['/cell1/safety:max_span:=0.7']);
      // What rcl hands rclnodejs: keys as written; rclnodejs then reads only '/**' and 'safety'.
      const cli = new Map<string, Map<string, unknown>>();
      for (const f of [robot, launch]) for (const [k, v] of parseRclParamsYaml(readFileSync(f, 'utf8'))) cli.set(k, new Map([...(cli.get(k) ?? []), ...[...v].map(([n, x]) => [n, x.value] as const)]));
      const { mod, declared } = fakeRcl(cli);
      const port = await RclnodejsPort.init(mod, ['node', 'x', ...args.rosArgv], { distro: 'jazzy', sources: loadParamSources(args.paramsFiles, args.paramRules) });
      const node = port.createNode('safety', '/cell1');
      const s = startSafety({ kind: port.kind, distro: port.distro, createNode: () => node, shutdown: () => port.shutdown() });
      const got = Object.fromEntries(declared.map((d) => [d.name, d.value]));
      expect(declared.every((d) => d.ignoreOverride)).toBe(true);
      expect(got.heartbeat_timeout).toBe(0.25); // from '/cell1/safety'
      expect(got.max_span).toBe(0.7); // from -p /cell1/safety:max_span
      expect(got.reach_bases).toEqual([]); // '[]' declared as an empty double array, not undeclared
      expect(got.workspace_min).toEqual([-0.4, -0.3, 0]);
      await s.shutdown();
      // Without our resolution rclnodejs would have seen none of the '/cell1/safety' values.
      expect([...cli.keys()].filter((k) => k === '/**' || k === 'safety')).toEqual(['/**']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
