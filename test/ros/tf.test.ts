// TF: the buffer's lookups (composition through a common parent, unknown, unconnected and stale
// links), and perception taking camera extrinsics from /tf + /tf_static, publishing the table frame
// itself, and publishing no object cloud (with the reason on /diagnostics) while a transform is
// missing or stale.
import { describe, expect, it } from 'vitest';
import { packPointCloud2, unpackPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { QOS, type DiagnosticArray, type PointCloud2, type TFMessage } from '../../src/record/index.ts';
import { InProcessGraph, InProcessPort, ManualClock } from '../../ros/in-process.ts';
import { startPerception } from '../../ros/nodes/perception.ts';
import { TF_QOS, TF_STATIC_QOS, TfBuffer, transformFromXyzRpy } from '../../ros/tf.ts';

const stamp = (t: number) => ({ sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) % 1_000_000_000 });
const tfMsg = (parent: string, child: string, xyzrpy: number[], t: number): TFMessage => ({
  transforms: [{ header: { stamp: stamp(t), frame_id: parent }, child_frame_id: child, transform: transformFromXyzRpy(xyzrpy) }],
});
const apply = (m: Float64Array, p: [number, number, number]) => [0, 1, 2].map((r) => m[r * 4]! * p[0] + m[r * 4 + 1]! * p[1] + m[r * 4 + 2]! * p[2] + m[r * 4 + 3]!);

describe('TfBuffer', () => {
  const buf = new TfBuffer();
  buf.add(tfMsg('base_link', 'table', [0.5, 0, 0.02, 0, 0, 0], 0), true);
  buf.add(tfMsg('base_link', 'cam0_optical', [0.5, 0.3, 0.8, Math.PI, 0, Math.PI / 2], 100), false);

  it('composes child → parent chains through the common frame', () => {
    const t = buf.lookup('table', 'cam0_optical', 100.1, 0.5);
    expect(t.ok).toBe(true);
    // A point 0.78 m along the camera's z (looking down): table origin + (0, 0.3, 0.78 - 0.78 …)
    const p = apply((t as { matrix: Float64Array }).matrix, [0, 0, 0.5]);
    p.forEach((v, i) => expect(v).toBeCloseTo([0, 0.3, 0.28][i]!, 9));
    const back = buf.lookup('cam0_optical', 'table', 100.1, 0.5) as { ok: true; matrix: Float64Array };
    apply(back.matrix, p as [number, number, number]).forEach((v, i) => expect(v).toBeCloseTo([0, 0, 0.5][i]!, 9));
  });

  it('says why a lookup fails', () => {
    expect(buf.lookup('table', 'cam1_optical', 100, 0.5)).toEqual({ ok: false, reason: expect.stringMatching(/frame cam1_optical does not exist in TF/) });
    const other = new TfBuffer();
    other.add(tfMsg('world', 'table', [0, 0, 0, 0, 0, 0], 0), true);
    other.add(tfMsg('base_link', 'cam0_optical', [0, 0, 0, 0, 0, 0], 0), true);
    expect(other.lookup('table', 'cam0_optical', 0, 1)).toEqual({ ok: false, reason: 'frames cam0_optical and table are not connected (roots base_link and world)' });
    expect(buf.lookup('table', 'cam0_optical', 101, 0.5)).toEqual({ ok: false, reason: 'transform base_link -> cam0_optical is stale: 1.00 s old (limit 0.5 s)' });
  });
});

describe('perception with extrinsics from TF', () => {
  it('no cloud while the camera transform is missing or stale; transformed clouds once it is there', async () => {
    const clock = new ManualClock(1000);
    const graph = new InProcessGraph({ distro: 'humble', clock });
    const port = new InProcessPort(graph, {
      perception: {
        camera_topics: ['cam0/points'],
        camera_frames: ['camera_0'],
        extrinsics_source: 'tf',
        tf_max_age: 0.5,
        table_parent_frame: 'base_link',
        table_in_parent: [0.5, 0, 0.02, 0, 0, 0],
        workspace_min: [-1, -1, -1],
        workspace_max: [1, 1, 1],
        plane_distance: 0,
        voxel_size: 0,
        outlier_neighbors: 0,
        num_points: 0,
        min_points: 1,
      },
    });
    const perception = startPerception(port);
    const probe = port.createNode('probe');
    const clouds: PointCloud2[] = [];
    const diags: string[] = [];
    const statics: TFMessage[] = [];
    probe.createSubscription('sensor_msgs/msg/PointCloud2', 'perception/object_cloud', QOS.sensorData, (m) => clouds.push(m));
    probe.createSubscription('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', QOS.default, (m: DiagnosticArray) => diags.push(m.status[0]!.message));
    probe.createSubscription('tf2_msgs/msg/TFMessage', '/tf_static', TF_STATIC_QOS, (m) => statics.push(m));
    const cam = probe.createPublisher('sensor_msgs/msg/PointCloud2', 'cam0/points', QOS.sensorData);
    const tf = probe.createPublisher('tf2_msgs/msg/TFMessage', '/tf', TF_QOS);
    const send = (): void => {
      const m = packPointCloud2({ points: Float32Array.from([0, 0, 0.5, 0.1, 0, 0.5]), frame: 'camera_0', stamp: clock.now() });
      cam.publish({ ...m, header: { ...m.header, frame_id: 'cam0_optical' } });
    };
    await graph.idle();
    // The table frame is latched on /tf_static by perception itself.
    expect(statics[0]!.transforms[0]!.child_frame_id).toBe('table');
    expect(statics[0]!.transforms[0]!.header.frame_id).toBe('base_link');

    send();
    await graph.idle();
    expect(clouds).toHaveLength(0);
    clock.advance(1);
    await graph.idle();
    expect(diags.at(-1)).toMatch(/camera cam0\/points: no transform table <- cam0_optical: frame cam0_optical does not exist in TF/);

    tf.publish(tfMsg('base_link', 'cam0_optical', [0.5, 0.3, 0.8, Math.PI, 0, Math.PI / 2], clock.now()));
    await graph.idle();
    send();
    await graph.idle();
    expect(clouds).toHaveLength(1);
    const pts = unpackPointCloud2(clouds[0]!, { frame: 'table' }).points;
    [0, 0.3, 0.28].forEach((v, i) => expect(pts[i]!).toBeCloseTo(v, 5));

    clock.advance(2); // the camera transform stops coming
    send();
    await graph.idle();
    expect(clouds).toHaveLength(1);
    clock.advance(1);
    await graph.idle();
    expect(diags.at(-1)).toMatch(/transform base_link -> cam0_optical is stale/);
    await perception.shutdown();
    expect(graph.callbackErrors).toEqual([]);
  });
});
