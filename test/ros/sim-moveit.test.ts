// End to end through the ROS seam: the sim node set (sim.launch.xml's graph) on the in-process port,
// with the executor on the moveit backend against the fake move_group / gripper controller
// (test/ros/fakes/moveit.ts). Primitives decided by the policy and approved by the safety supervisor
// run as GetCartesianPath + ExecuteTrajectory + GripperCommand over CDR; an e-stop mid-trajectory
// cancels the goal; a dead supervisor stops motion.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { QOS, type DiagnosticArray, type DiagnosticStatus } from '../../src/record/index.ts';
import { InProcessGraph, InProcessPort, parseParamsYaml, SystemClock } from '../../ros/in-process.ts';
import { shutdownAll, startNodes } from '../../ros/main.ts';
import { startFakeArm } from './fakes/moveit.ts';

const repo = new URL('../../', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pamstack-simmoveit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const until = async (fn: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(fn()).toBe(true);
};

describe('sim stack on the moveit backend (in-process, fake MoveIt)', () => {
  it('executes primitives inside the workspace; an e-stop cancels the goal in flight; a dead supervisor stops motion', async () => {
    const overrides = parseParamsYaml(readFileSync(join(repo, 'launch/params/sim.yaml'), 'utf8'));
    overrides.policy = { policy: 'expert', num_candidates: 4 };
    overrides.preference_bridge = { output_dir: '', db: '' };
    overrides.sim_bridge = { camera_rate: 10 };
    overrides.executor = { motion_backend: 'moveit', supervisor_timeout: 1, timeout: 30 };
    const graph = new InProcessGraph({ distro: 'jazzy', clock: new SystemClock() });
    const port = new InProcessPort(graph, overrides);
    const armOptions = { distro: 'jazzy' as const, executeSeconds: 0.15 };
    const arm = startFakeArm(port, armOptions);
    const nodes = await startNodes('sim_stack', port, { createWorld, openStore: null });
    const probe = port.createNode('probe');
    const results: DiagnosticStatus[] = [];
    const diagnostics = new Map<string, DiagnosticStatus>();
    probe.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', 'executor/result', QOS.default, (m) => results.push(m));
    probe.createSubscription('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', QOS.default, (m: DiagnosticArray) => {
      for (const s of m.status) diagnostics.set(s.name, s);
    });
    const eStop = probe.createPublisher('std_msgs/msg/Empty', 'e_stop', QOS.command);
    const reset = probe.createPublisher('std_msgs/msg/Empty', 'e_stop/reset', QOS.command);
    try {
      await until(() => results.filter((r) => r.level === 0).length >= 3, 60_000);
      const ok = results.filter((r) => r.level === 0);
      expect(ok.every((r) => r.message === 'done')).toBe(true);
      // Every tool position MoveIt was asked for lies in sim.yaml's workspace box.
      const box = { min: [-0.4, -0.3, 0.0], max: [0.4, 0.3, 0.5] };
      expect(arm.waypoints().length).toBeGreaterThanOrEqual(18);
      for (const p of arm.waypoints()) for (let i = 0; i < 3; i++) expect(p[i]! >= box.min[i]! - 1e-9 && p[i]! <= box.max[i]! + 1e-9, `${p}`).toBe(true);
      expect(arm.gripper.length).toBeGreaterThanOrEqual(9);

      // E-stop while a trajectory runs (long trajectories from now on, so "mid-trajectory" holds under load).
      armOptions.executeSeconds = 10;
      const before = arm.executed.length;
      await until(() => arm.executed.length > before && arm.executing(), 20_000);
      const n = results.length;
      eStop.publish({});
      const stopped = () => results.slice(n).find((r) => /stopped: safety state e_stop/.test(r.message));
      await until(() => stopped() !== undefined, 5_000);
      expect(stopped()!.message).toMatch(/stopped: safety state e_stop: e-stop latched .*; the goal in flight was cancelled/);
      expect(arm.cancels).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(arm.executing()).toBe(false); // nothing moves while latched
      const cancels = arm.cancels;

      // Reset, then the supervisor dies mid-trajectory.
      reset.publish({});
      const again = arm.executed.length;
      await until(() => arm.executed.length > again && arm.executing(), 20_000);
      const m = results.length;
      await nodes.find((x) => x.node.name === 'safety')!.shutdown();
      const lost = () => results.slice(m).find((r) => /safety supervisor heartbeat lost/.test(r.message));
      await until(() => lost() !== undefined, 5_000);
      expect(results.slice(m).filter((r) => r.level === 0)).toEqual([]); // nothing completed after the supervisor died
      expect(arm.cancels).toBe(cancels + 1);
      await until(() => diagnostics.get('pamstack/executor')?.values.some((v) => v.key === 'state' && v.value === 'supervisor_lost') === true, 3_000);
      for (const name of ['pamstack/perception', 'pamstack/policy', 'pamstack/sim_bridge']) expect(diagnostics.has(name), name).toBe(true);
      expect(graph.callbackErrors).toEqual([]);
    } finally {
      expect(await shutdownAll(nodes.filter((x) => x.node.name !== 'safety'), port, 10_000)).toBe(true);
    }
  }, 120_000);
});
