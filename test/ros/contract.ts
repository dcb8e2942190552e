// The node contract: the same tests run on the in-process port (always) and on real rclnodejs when a
// ROS 2 environment is sourced (test/ros/rclnodejs-contract.test.ts).
import { expect, it } from 'vitest';
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import type { ActionProposer, CandidateScorer } from '../../src/core/stages.ts';
import { markerArrayToCandidates, markerToPrimitive, primitiveToMarker, QOS, RosMessageCodec, type DiagnosticStatus, type Marker, type MarkerArray, type MessageOf, type MessageTypeName, type PointCloud2 } from '../../src/record/index.ts';
import type { ParamOverrides } from '../../ros/in-process.ts';
import { startExecutor } from '../../ros/nodes/executor.ts';
import { startPerception } from '../../ros/nodes/perception.ts';
import { startPolicy } from '../../ros/nodes/policy.ts';
import { deciderFromStages, moduleSpec, overridesFromParams } from '../../ros/stages.ts';
import { startSafety } from '../../ros/nodes/safety.ts';
import type { QosProfile, RosNode, RosPort } from '../../ros/port.ts';

export interface ContractHarness {
  port: RosPort;
  /** A helper node that publishes inputs and collects outputs. */
  probe: RosNode;
  /** Delivers everything in flight. */
  settle(): Promise<void>;
  /** Lets `seconds` of node time pass (timers fire), then settles. */
  wait(seconds: number): Promise<void>;
  close(): Promise<void>;
}
export type HarnessFactory = (overrides: ParamOverrides) => Promise<ContractHarness>;

/** Collects what arrives on a topic. */
function collect<T extends MessageTypeName>(h: ContractHarness, type: T, topic: string, qos: QosProfile = QOS.default): MessageOf<T>[] {
  const got: MessageOf<T>[] = [];
  h.probe.createSubscription(type, topic, qos, (m) => got.push(m));
  return got;
}

const codec = RosMessageCodec.for('jazzy');
const cloudAt = (stamp: number, pts = [0.1, 0.1, 0.01, -0.1, 0.05, 0.02, 0, 0, 0.03]) =>
  packPointCloud2({ points: new Float32Array(pts), frame: 'table', stamp }) as PointCloud2;
const prim = (a: [number, number, number], b: [number, number, number]): Primitive => ({ kind: 'pick_place', a, b });
const marker = (p: Primitive, decision: number, stamp: number): Marker => primitiveToMarker(codec, p, { decision, candidate: 0 }, { stamp });

export function nodeContract(make: HarnessFactory): void {
  it('perception fuses two cameras into the table frame and publishes the object cloud', async () => {
    const h = await make({
      perception: {
        camera_topics: ['cam0/points', 'cam1/points'],
        camera_frames: ['camera_0', 'camera_1'],
        // camera_1 sits 1 m along x from the table origin
        camera_extrinsics: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
        plane_distance: 0,
        voxel_size: 0,
        outlier_neighbors: 0,
        num_points: 0,
        min_points: 1,
        workspace_min: [-2, -2, -1],
        workspace_max: [2, 2, 1],
      },
    });
    try {
      const out = collect(h, 'sensor_msgs/msg/PointCloud2', 'perception/object_cloud', QOS.sensorData);
      startPerception(h.port);
      const cam0 = h.probe.createPublisher('sensor_msgs/msg/PointCloud2', 'cam0/points', QOS.sensorData);
      const cam1 = h.probe.createPublisher('sensor_msgs/msg/PointCloud2', 'cam1/points', QOS.sensorData);
      const t = h.probe.now();
      cam0.publish({ ...cloudAt(t, [0, 0, 0.1]), header: { stamp: cloudAt(t).header.stamp, frame_id: 'cam0_optical' } });
      cam1.publish(cloudAt(t + 0.01, [0, 0, 0.2]));
      await h.settle();
      expect(out.length).toBeGreaterThanOrEqual(1);
      const last = out[out.length - 1]!;
      expect(last.header.frame_id).toBe('table');
      const xyz = Array.from(new Float32Array(last.data.slice().buffer));
      expect(xyz).toEqual([0, 0, Math.fround(0.1), 1, 0, Math.fround(0.2)]);
    } finally {
      await h.close();
    }
  });

  it('perception refuses inconsistent or out-of-range parameters, naming them', async () => {
    const h1 = await make({ perception: { camera_topics: ['a', 'b'], camera_frames: ['camera_a'] } });
    try {
      expect(() => startPerception(h1.port)).toThrow(/camera_frames: expected 2 frames \(one per camera topic\), received 1/);
    } finally {
      await h1.close();
    }
    const h2 = await make({ perception: { voxel_size: 5 } });
    try {
      expect(() => startPerception(h2.port)).toThrow(/parameter voxel_size: expected a number in \[0, 0.1\], received 5/);
    } finally {
      await h2.close();
    }
  });

  it('safety: deadman, stale perception, limits, latched e-stop with reset; all refusals published', async () => {
    const h = await make({ safety: { heartbeat_timeout: 0.5, stale_cloud_timeout: 0.5, status_period: 0.05 } });
    try {
      const approved = collect(h, 'visualization_msgs/msg/Marker', 'safety/approved', QOS.command);
      const refusals = collect(h, 'diagnostic_msgs/msg/DiagnosticStatus', 'safety/refusal');
      startSafety(h.port);
      const propose = h.probe.createPublisher('visualization_msgs/msg/Marker', 'policy/chosen', QOS.command);
      const beat = h.probe.createPublisher('std_msgs/msg/Empty', 'operator/heartbeat', QOS.command);
      const cloud = h.probe.createPublisher('sensor_msgs/msg/PointCloud2', 'perception/object_cloud', QOS.sensorData);
      const estop = h.probe.createPublisher('std_msgs/msg/Empty', 'e_stop', QOS.command);
      const reset = h.probe.createPublisher('std_msgs/msg/Empty', 'e_stop/reset', QOS.command);
      const ok = prim([0.1, 0.1, 0.01], [0.2, -0.1, 0.01]);
      const rule = (s: DiagnosticStatus) => s.values.find((v) => v.key === 'rule')?.value;
      const tryOnce = async (p: Primitive, d: number) => {
        propose.publish(marker(p, d, h.probe.now()));
        await h.settle();
      };

      await tryOnce(ok, 0);
      expect(rule(refusals.at(-1)!)).toBe('deadman');
      expect(refusals.at(-1)!.message).toMatch(/no operator heartbeat received yet/);
      expect(refusals.at(-1)!.hardware_id).toBe('decision:0');

      beat.publish({});
      await h.settle();
      await tryOnce(ok, 1);
      expect(rule(refusals.at(-1)!)).toBe('stale_perception');

      beat.publish({});
      cloud.publish(cloudAt(h.probe.now()));
      await h.settle();
      await tryOnce(ok, 2);
      expect(approved.map((m) => markerToPrimitive(m).meta.decision)).toEqual([2]);

      await tryOnce(prim([0.9, 0, 0.01], [0, 0, 0.01]), 3);
      expect(rule(refusals.at(-1)!)).toBe('limits');
      expect(refusals.at(-1)!.message).toMatch(/pick\.x = 0\.9 m is above workspace max\.x = 0\.6 m/);

      estop.publish({});
      await h.settle();
      beat.publish({});
      cloud.publish(cloudAt(h.probe.now()));
      await h.settle();
      await tryOnce(ok, 4);
      expect(rule(refusals.at(-1)!)).toBe('e_stop');
      expect(refusals.at(-1)!.message).toMatch(/e-stop latched .* e_stop\/reset to reset/);
      await tryOnce(ok, 5); // still latched: heartbeats and fresh clouds do not clear it
      expect(rule(refusals.at(-1)!)).toBe('e_stop');
      reset.publish({});
      beat.publish({});
      cloud.publish(cloudAt(h.probe.now()));
      await h.settle();
      await tryOnce(ok, 6);
      expect(approved.map((m) => markerToPrimitive(m).meta.decision)).toEqual([2, 6]);

      await h.wait(0.7); // heartbeat and cloud both age past 0.5 s
      await tryOnce(ok, 7);
      expect(rule(refusals.at(-1)!)).toBe('deadman');
      beat.publish({});
      await h.settle();
      await tryOnce(ok, 8);
      expect(rule(refusals.at(-1)!)).toBe('stale_perception');
      expect(refusals.at(-1)!.message).toMatch(/newest object cloud is 0\.\d+ s old \(limit 0\.5 s\)/);
      expect(approved).toHaveLength(2);

      // safety/status is latched: a subscriber that joins late still gets the current state.
      const late = collect(h, 'diagnostic_msgs/msg/DiagnosticStatus', 'safety/status', QOS.latched);
      await h.settle();
      expect(late.length).toBeGreaterThanOrEqual(1);
      expect(late.at(-1)!.values.find((v) => v.key === 'state')?.value).toMatch(/deadman|stale_perception/);
    } finally {
      await h.close();
    }
  });

  it('executor: forwards to the motion layer, reports result and timing, holds on e-stop and timeout', async () => {
    const h = await make({ executor: { timeout: 1, supervisor_timeout: 0 } }); // no safety node here
    try {
      const goals = collect(h, 'visualization_msgs/msg/Marker', 'motion/primitive', QOS.command);
      const holds = collect(h, 'std_msgs/msg/Empty', 'motion/hold', QOS.command);
      const results = collect(h, 'diagnostic_msgs/msg/DiagnosticStatus', 'executor/result');
      const executed = collect(h, 'visualization_msgs/msg/Marker', 'executor/executed', QOS.command);
      startExecutor(h.port);
      const approve = h.probe.createPublisher('visualization_msgs/msg/Marker', 'safety/approved', QOS.command);
      const motionResult = h.probe.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', 'motion/result', QOS.default);
      const safetyStatus = h.probe.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', 'safety/status', QOS.latched);
      const p = prim([0.1, 0.1, 0.01], [0.2, -0.1, 0.01]);

      approve.publish(marker(p, 10, h.probe.now()));
      await h.settle();
      expect(goals).toHaveLength(1);
      expect(markerToPrimitive(goals[0]!).primitive).toEqual(p);
      approve.publish(marker(p, 11, h.probe.now())); // busy: refused, not sent
      await h.settle();
      expect(goals).toHaveLength(1);
      expect(results.at(-1)!.message).toMatch(/busy with decision 10; decision 11 not sent/);
      motionResult.publish({ level: 0, name: 'arm', message: 'done', hardware_id: 'decision:10', values: [{ key: 'duration_s', value: '2.5' }] });
      await h.settle();
      const r = results.at(-1)!;
      expect(r.level).toBe(0);
      expect(r.hardware_id).toBe('decision:10');
      expect(r.values.map((v) => v.key)).toEqual(expect.arrayContaining(['wall_s', 'duration_s', 'kind']));
      expect(executed.map((m) => markerToPrimitive(m).meta.decision)).toEqual([10]);

      approve.publish(marker(p, 12, h.probe.now()));
      await h.settle();
      safetyStatus.publish({ level: 2, name: 'pamstack/safety', message: 'e-stop latched', hardware_id: '', values: [{ key: 'state', value: 'e_stop' }] });
      await h.settle();
      expect(holds).toHaveLength(1);
      expect(results.at(-1)!.message).toMatch(/aborted: safety state e_stop/);

      safetyStatus.publish({ level: 0, name: 'pamstack/safety', message: 'ok', hardware_id: '', values: [{ key: 'state', value: 'ok' }] });
      approve.publish(marker(p, 13, h.probe.now()));
      await h.settle();
      await h.wait(1.3);
      expect(holds).toHaveLength(2);
      expect(results.at(-1)!.message).toMatch(/no result from the motion layer within 1 s/);
      expect(executed).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('policy: proposes, scores, selects the best safe candidate, colours markers, waits for the result', async () => {
    const h = await make({ policy: { num_candidates: 3, seed: 40 } });
    try {
      const seeds: number[] = [];
      const proposer: ActionProposer = {
        name: 'fixed',
        async propose(_c, n, seed) {
          seeds.push(seed);
          expect(n).toBe(3);
          return [prim([0.1, 0, 0.01], [0.2, 0, 0.01]), prim([0.9, 0, 0.01], [0.2, 0, 0.01]), prim([0, 0.1, 0.01], [0, 0.2, 0.01])];
        },
      };
      const scorer: CandidateScorer = { name: 'fixed', score: async () => [{ score: 0.2 }, { score: 0.9 }, { score: 0.5 }] };
      const cands = collect(h, 'visualization_msgs/msg/MarkerArray', 'policy/candidates');
      const chosen = collect(h, 'visualization_msgs/msg/Marker', 'policy/chosen', QOS.command);
      const policy = await startPolicy(h.port, async (p) => deciderFromStages(moduleSpec('module:fixed', overridesFromParams(p)), { proposer, scorer }));
      const cloud = h.probe.createPublisher('sensor_msgs/msg/PointCloud2', 'perception/object_cloud', QOS.sensorData);
      const result = h.probe.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', 'executor/result', QOS.default);

      cloud.publish(cloudAt(h.probe.now()));
      await h.settle();
      await policy.idle();
      await h.settle();
      expect(cands).toHaveLength(1);
      const d = markerArrayToCandidates(cands[0] as MarkerArray)!;
      expect(d.candidates.map((c) => c.safe)).toEqual([true, false, true]); // #1 leaves the workspace
      expect(d.chosen).toBe(2); // best safe score (0.5), not the unsafe 0.9
      expect(cands[0]!.markers[2]!.color).toMatchObject({ r: 0, g: 1 }); // best score is green…
      expect(cands[0]!.markers[2]!.color.a).toBeCloseTo(0.3); // …and faded: unsafe
      expect(cands[0]!.markers[1]!.color).toMatchObject({ r: 1, g: 0 }); // worst score is red
      expect(chosen.map((m) => markerToPrimitive(m).meta)).toEqual([{ decision: 0, kind: 'pick_place', candidate: 2, score: 0.5 }]);

      cloud.publish(cloudAt(h.probe.now() + 0.1));
      await h.settle();
      await policy.idle();
      expect(cands).toHaveLength(1); // waiting for the executor's result on decision 0
      result.publish({ level: 0, name: 'x', message: 'done', hardware_id: 'decision:0', values: [] });
      await h.settle();
      await policy.idle();
      await h.settle();
      expect(cands).toHaveLength(2);
      expect(seeds).toEqual([40, 41]);
    } finally {
      await h.close();
    }
  });

  it('a RELIABLE subscription does not hear a BEST_EFFORT publisher (QoS matching)', async () => {
    const h = await make({});
    try {
      const reliable = collect(h, 'std_msgs/msg/String', 'qos_probe', QOS.default);
      const bestEffort = collect(h, 'std_msgs/msg/String', 'qos_probe', QOS.sensorData);
      h.probe.createPublisher('std_msgs/msg/String', 'qos_probe', QOS.sensorData).publish({ data: 'x' });
      await h.settle();
      expect(bestEffort).toEqual([{ data: 'x' }]);
      expect(reliable).toEqual([]);
    } finally {
      await h.close();
    }
  });
}
