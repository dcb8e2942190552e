// From each launch XML, the params files launch_ros would write (test/ros/launch-ros.ts reproduces
// launch_xml and launch_ros from their sources), then the node set started on the in-process port with
// exactly those `--params-file` arguments, one port per node as one process per node: every
// launch-level value must be what the node runs with.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { InProcessGraph, InProcessPort, ManualClock, type ParamSource } from '../../ros/in-process.ts';
import { keyMatchesRclnodejs, parseRclParamsYaml } from '../../ros/param-files.ts';
import { startExecutor } from '../../ros/nodes/executor.ts';
import { startPerception } from '../../ros/nodes/perception.ts';
import { startPolicy } from '../../ros/nodes/policy.ts';
import { startPreferenceBridge } from '../../ros/nodes/preference-bridge.ts';
import { startSafety } from '../../ros/nodes/safety.ts';
import { startSimBridge } from '../../ros/nodes/sim-bridge.ts';
import { loadPolicyDecider } from '../../ros/stages.ts';
import type { PamstackNode } from '../../ros/nodes/common.ts';
import { launchNodes, pySafeLoad, pyToJs, readLaunchFile, evaluateParam } from './launch-ros.ts';

const repo = new URL('../../', import.meta.url).pathname;
const share = { pamstack: repo }; // launch/ sits at <share>/launch, as CMakeLists.txt installs it
const tmp = mkdtempSync(join(tmpdir(), 'pamstack-launch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Starter = (port: InProcessPort, name: string, ns: string) => Promise<PamstackNode>;
const STARTERS: Record<string, Starter> = {
  perception: async (port, name, ns) => startPerception(port, name, ns),
  // the real loader: the launch default `policy` (the task's committed folder) must load
  policy: async (port, name, ns) => startPolicy(port, (p) => loadPolicyDecider(p), name, ns),
  safety: async (port, name, ns) => startSafety(port, name, ns),
  executor: async (port, name, ns) => startExecutor(port, name, ns),
  preference_bridge: async (port, name, ns) => startPreferenceBridge(port, null, name, ns),
  sim_bridge: async (port, name, ns) => startSimBridge(port, createWorld, name, ns),
};

/** Starts every node of a launch file as ros2 launch would; returns each node's parameters. */
async function launch(file: string, args: Record<string, string>) {
  const launched = launchNodes(readLaunchFile(join(repo, 'launch', file)), args, share);
  const graph = new InProcessGraph({ distro: 'humble', clock: new ManualClock() });
  const ports: InProcessPort[] = [];
  const started: PamstackNode[] = [];
  const out: { exec: string; fqn: string; params: Record<string, unknown>; expected: Record<string, unknown>; keys: string[] }[] = [];
  let i = 0;
  for (const l of launched) {
    const sources: ParamSource[] = l.paramsFiles.map((f) => {
      if ('path' in f) return { name: f.path, params: parseRclParamsYaml(readFileSync(f.path, 'utf8'), f.path) };
      const path = join(tmp, `launch_params_${i++}`);
      writeFileSync(path, f.text);
      return { name: path, params: parseRclParamsYaml(readFileSync(path, 'utf8'), path) };
    });
    const port = new InProcessPort(graph, sources);
    ports.push(port);
    const name = l.node.name ?? l.node.exec;
    started.push(await STARTERS[l.node.exec]!(port, name, l.namespace));
    const generatedKeys = sources.filter((s) => s.name.includes('launch_params_')).flatMap((s) => [...(s.params as Map<string, unknown>).keys()]);
    out.push({ exec: l.node.exec, fqn: l.fqn, params: port.node(name)!.parameters(), expected: Object.fromEntries(Object.entries(l.values).map(([k, v]) => [k, pyToJs(v)])), keys: generatedKeys });
  }
  for (const n of started.reverse()) await n.shutdown();
  for (const p of ports) await p.shutdown();
  return out;
}

describe('launch_xml / launch_ros evaluation (as reproduced)', () => {
  it("value-sep splits before substitution (launch_xml entity.py get_attr), so a $(var) list stays one item", () => {
    const v = evaluateParam({ name: 'camera_topics', value: '$(var cameras)', sep: ',' }, { cameras: '/cam0/points,/cam1/points' }, share);
    expect(pyToJs(v)).toEqual(['/cam0/points,/cam1/points']);
    const y = evaluateParam({ name: 'camera_topics', value: '$(var cameras)' }, { cameras: '[/cam0/points, /cam1/points]' }, share);
    expect(pyToJs(y)).toEqual(['/cam0/points', '/cam1/points']);
  });
  it('values are read with yaml.safe_load (YAML 1.1): ints, floats, bools and strings kept apart', () => {
    expect(pySafeLoad('0')).toEqual({ t: 'int', v: 0 });
    expect(pySafeLoad('0.5')).toEqual({ t: 'float', v: 0.5 });
    expect(pySafeLoad('yes')).toEqual({ t: 'bool', v: true });
    expect(pySafeLoad('rope-circle')).toEqual({ t: 'str', v: 'rope-circle' });
    expect(() => evaluateParam({ name: 'x', value: '[1, a]' }, {}, share)).toThrow(/items of uniform type/);
  });
});

describe('robot.launch.xml', () => {
  it('default arguments: every <param name> value reaches its node, keyed /<name> (which rclnodejs alone would miss)', async () => {
    const nodes = await launch('robot.launch.xml', {});
    expect(nodes.map((n) => n.fqn)).toEqual(['/perception', '/policy', '/safety', '/executor', '/preference_bridge']);
    expect(nodes.filter((n) => Object.keys(n.expected).length > 0).map((n) => n.exec)).toEqual(['perception', 'policy', 'executor', 'preference_bridge']);
    for (const n of nodes) {
      for (const [k, v] of Object.entries(n.expected)) expect(n.params[k], `${n.exec}.${k}`).toEqual(v);
      for (const key of n.keys) expect(keyMatchesRclnodejs(key, n.exec), key).toBe(false);
    }
    const perception = nodes.find((n) => n.exec === 'perception')!;
    expect(perception.params.camera_topics).toEqual(['/camera/depth/color/points']);
    // robot.yaml reached the node too (its /** section and its own section).
    expect(perception.params.workspace_min).toEqual([-0.4, -0.3, 0]);
    expect(perception.params.outlier_neighbors).toBe(20);
    expect(nodes.find((n) => n.exec === 'safety')!.params.reach_bases).toEqual([]);
  }, 60_000);

  it('two cameras, a namespace and a motion topic from the command line; a params_file argument replaces robot.yaml', async () => {
    const yaml = readFileSync(join(repo, 'launch/params/robot.yaml'), 'utf8').replace(
      /camera_extrinsics: \[[^\]]*\]/,
      `camera_extrinsics: [${[...Array(2)].map(() => '1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0').join(', ')}]`,
    );
    const params = join(tmp, 'two-cameras.yaml');
    writeFileSync(params, yaml);
    const nodes = await launch('robot.launch.xml', {
      cameras: '[/cam0/depth/points, /cam1/depth/points]',
      camera_frames: '[camera_0, camera_1]',
      namespace: 'cell1',
      motion_topic: 'arm/goal',
      params_file: params,
    });
    expect(nodes.map((n) => n.fqn)).toEqual(['/cell1/perception', '/cell1/policy', '/cell1/safety', '/cell1/executor', '/cell1/preference_bridge']);
    for (const n of nodes) for (const [k, v] of Object.entries(n.expected)) expect(n.params[k], `${n.exec}.${k}`).toEqual(v);
    const perception = nodes.find((n) => n.exec === 'perception')!;
    expect(perception.params.camera_topics).toEqual(['/cam0/depth/points', '/cam1/depth/points']);
    expect(perception.params.camera_frames).toEqual(['camera_0', 'camera_1']);
    expect((perception.params.camera_extrinsics as number[]).length).toBe(32);
    expect(nodes.find((n) => n.exec === 'executor')!.params.motion_topic).toBe('arm/goal');
  }, 60_000);
});

describe('sim.launch.xml', () => {
  it('every <param name> value reaches its node', async () => {
    const nodes = await launch('sim.launch.xml', { seed: '7', task: 'rope-circle' });
    for (const n of nodes) for (const [k, v] of Object.entries(n.expected)) expect(n.params[k], `${n.exec}.${k}`).toEqual(v);
    expect(nodes.find((n) => n.exec === 'sim_bridge')!.params.seed).toBe(7);
    expect(nodes.find((n) => n.exec === 'safety')!.params.require_heartbeat).toBe(false);
  }, 60_000);
});
