// The launch XML and parameter YAML: well-formed, the expected structure, and every parameter they
// set declared by the node it targets, with a valid value (launch would otherwise fail on the robot).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { InProcessPort, parseParamsYaml } from '../../ros/in-process.ts';
import { EXECUTOR_PARAMS } from '../../ros/nodes/executor.ts';
import { PERCEPTION_PARAMS } from '../../ros/nodes/perception.ts';
import { POLICY_PARAMS } from '../../ros/nodes/policy.ts';
import { PREFERENCE_BRIDGE_PARAMS } from '../../ros/nodes/preference-bridge.ts';
import { SAFETY_PARAMS } from '../../ros/nodes/safety.ts';
import { SIM_BRIDGE_PARAMS } from '../../ros/nodes/sim-bridge.ts';
import type { ParamSpec } from '../../ros/port.ts';

const repo = new URL('../../', import.meta.url).pathname;
const SPECS: Record<string, ParamSpec> = {
  perception: PERCEPTION_PARAMS,
  policy: POLICY_PARAMS,
  executor: EXECUTOR_PARAMS,
  safety: SAFETY_PARAMS,
  sim_bridge: SIM_BRIDGE_PARAMS,
  preference_bridge: PREFERENCE_BRIDGE_PARAMS,
};
const xmllint = spawnSync('xmllint', ['--version']).status === 0;

interface LaunchNode {
  exec: string;
  attrs: Record<string, string>;
  params: { name?: string; from?: string; value?: string; sep?: string }[];
}
/** The launch file's args and nodes (the files are flat: launch > arg | node > param). */
function readLaunch(file: string): { root: string; args: Record<string, Record<string, string>>; nodes: LaunchNode[]; text: string } {
  const text = readFileSync(join(repo, 'launch', file), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const attrs = (s: string) => Object.fromEntries([...s.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const root = /<(\w+)[\s>]/.exec(text.replace(/<\?[\s\S]*?\?>/g, ''))![1]!;
  const args = Object.fromEntries([...text.matchAll(/<arg\s([^>]*?)\/>/g)].map((m) => { const a = attrs(m[1]!); return [a.name!, a]; }));
  const nodes = [...text.matchAll(/<node\s([^>]*)>([\s\S]*?)<\/node>/g)].map((m) => {
    const a = attrs(m[1]!);
    const params = [...m[2]!.matchAll(/<param\s([^>]*?)\/>/g)].map((p) => {
      const pa = attrs(p[1]!);
      return { name: pa.name, from: pa.from, value: pa.value, sep: pa['value-sep'] };
    });
    return { exec: a.exec!, attrs: a, params };
  });
  return { root, args, nodes, text };
}

describe.each(['robot.launch.xml', 'sim.launch.xml'])('launch/%s', (file) => {
  const l = readLaunch(file);
  const yamlFile = file === 'robot.launch.xml' ? 'robot.yaml' : 'sim.yaml';

  it.runIf(xmllint)('is well-formed XML (xmllint)', () => {
    const r = spawnSync('xmllint', ['--noout', join(repo, 'launch', file)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('is a <launch> of pamstack nodes, each with its params file and a known executable', () => {
    expect(l.root).toBe('launch');
    const want = file === 'robot.launch.xml' ? ['perception', 'policy', 'safety', 'executor', 'preference_bridge'] : ['sim_bridge', 'perception', 'policy', 'safety', 'executor', 'preference_bridge'];
    expect(l.nodes.map((n) => n.exec)).toEqual(want);
    for (const n of l.nodes) {
      expect(n.attrs.pkg).toBe('pamstack');
      expect(n.attrs.name).toBe(n.exec);
      expect(n.params.some((p) => p.from === '$(var params_file)')).toBe(true);
    }
    expect(l.args.params_file!.default).toBe(`$(find-pkg-share pamstack)/launch/params/${yamlFile}`);
  });

  it('declares every $(var …) it uses, each with a default and a description', () => {
    const used = new Set([...l.text.matchAll(/\$\(var (\w+)\)/g)].map((m) => m[1]!));
    for (const v of used) expect(Object.keys(l.args), `arg ${v}`).toContain(v);
    for (const a of Object.values(l.args)) {
      expect(typeof a.default, `arg ${a.name} default`).toBe('string');
      expect(a.description, `arg ${a.name} description`).toBeTruthy();
    }
  });

  it('passes lists as YAML, never with value-sep on a $(var …) (launch_xml splits before substitution)', () => {
    for (const n of l.nodes) for (const p of n.params) if (p.sep !== undefined) expect(p.value, `${n.exec}.${p.name}`).not.toMatch(/\$\(/);
  });
});

describe.each(['robot.yaml', 'sim.yaml'])('launch/params/%s', (file) => {
  const text = readFileSync(join(repo, 'launch/params', file), 'utf8');
  it('names only pamstack nodes (in any namespace), and each value is valid for the node', () => {
    const o = parseParamsYaml(text, file);
    for (const key of Object.keys(o)) expect(key === '/**' || Object.keys(SPECS).some((n) => key === `/**/${n}`), `${file}: ${key}`).toBe(true);
    for (const ns of ['', 'cell1'])
      for (const [node, spec] of Object.entries(SPECS)) {
        const port = new InProcessPort(undefined, o);
        expect(() => port.createNode(node, ns).declareParameters(spec), `${node} in /${ns}`).not.toThrow();
      }
  });

  it('writes every double with a decimal point (rcl rejects an integer for a double parameter)', () => {
    const doc = parseDocument(text);
    const bad: string[] = [];
    const body = doc.toJS() as Record<string, { ros__parameters: Record<string, unknown> }>;
    for (const [node, { ros__parameters: params }] of Object.entries(body)) {
      const specs = node === '/**' ? Object.values(SPECS) : [SPECS[node.replace('/**/', '')]!];
      for (const key of Object.keys(params)) {
        const d = specs.map((s) => s[key]).find((x) => x);
        if (!d || (d.type !== 'double' && d.type !== 'double_array')) continue;
        const n = doc.getIn([node, 'ros__parameters', key], true) as YamlNode;
        const scalars = isSeq(n) ? n.items : [n];
        for (const s of scalars) if (isScalar(s) && !/[.eE]/.test(String(s.source ?? s.value))) bad.push(`${node}.${key}: ${String(s.source ?? s.value)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
