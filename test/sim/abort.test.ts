// Aborting a primitive (the e-stop): it stops at the next control tick with the tools where they were,
// the step counts, the state stays usable; a signal that never fires and a pace change no physics.
import { describe, expect, it } from 'vitest';
import { createWorld, MujocoWorld } from '../../sim/index.ts';
import { Rng, type TaskName, type World } from '../../src/core/index.ts';

type W = World & MujocoWorld;

async function world(task: TaskName, seed: number): Promise<W> {
  const w = (await createWorld(task)) as W;
  w.reset(seed);
  return w;
}

describe('abort signal', () => {
  it.each([
    ['rope-circle', 1],
    ['granular-t', 3],
    ['cloth-unfold', 2],
  ] as const)('%s: the same seed gives bitwise the same state with an unfired signal and a pace as without', async (task, seed) => {
    const run = async (opts: { signal?: AbortSignal; pace?: number }) => {
      const w = await world(task, seed);
      const p = w.expertActions(1, new Rng(seed))[0]!;
      const r = await w.execute(p, opts);
      const s = w.saveState().data.slice();
      w.dispose();
      return { r, s };
    };
    const plain = await run({});
    const signalled = await run({ signal: new AbortController().signal, pace: 50 });
    expect(signalled.r.aborted).toBeUndefined();
    expect(Buffer.from(signalled.s.buffer).equals(Buffer.from(plain.s.buffer))).toBe(true);
  });

  it('rope: an abort from the event loop stops the motion at the next tick, tools where they were; the next primitive runs from there', async () => {
    const w = await world('rope-circle', 1);
    const rng = new Rng(1);
    const p = w.expertActions(1, rng)[0]!;
    const dt = w.timestep;
    // Full primitive, for reference.
    const ref = await world('rope-circle', 1);
    const full = await ref.execute(p);
    ref.dispose();

    const ac = new AbortController();
    let toolsAtAbort: Float32Array | null = null;
    let timeAtAbort = 0;
    let endTools: Float32Array | null = null;
    let holdingAtAbort = 0;
    w.setMotionObserver((f) => {
      if (f.phase === 'end') endTools = f.tools.slice();
      // Once carrying (the gripper holds), an e-stop arrives through the event loop (a socket message).
      if (f.phase === 'move' && f.holding[0] === 1 && !toolsAtAbort) {
        toolsAtAbort = f.tools.slice();
        timeAtAbort = f.t;
        holdingAtAbort = f.holding[0]!;
        setImmediate(() => ac.abort());
      }
    });
    const r = await w.execute(p, { signal: ac.signal, pace: 4 });
    expect(r.aborted).toBe(true);
    expect(w.stepCount).toBe(1);
    expect(holdingAtAbort).toBe(1);
    // Stopped within a few ticks of the abort being delivered (the sim yields every few ms of wall time
    // at pace 4: a tick is 2 ms of sim time, so that is well under a second of sim time), long before the end.
    expect(r.duration).toBeLessThan(full.duration - 0.5);
    expect(w.simTime - timeAtAbort).toBeLessThan(0.25);
    // The gripper stopped where it was: the end frame's tool matches the tool at the moment of abort
    // up to the few ticks before the abort was seen (mm), and the sim time did not advance after it.
    const moved = Math.hypot(...Array.from(endTools!, (v, i) => v - toolsAtAbort![i]!));
    expect(moved).toBeLessThan(0.03);
    const t = w.simTime;
    const cloud = w.observe();
    expect(cloud.points.length).toBeGreaterThan(0);
    expect(w.simTime).toBe(t);
    // The state stays consistent: the next primitive starts with an open gripper and runs to its end.
    w.setMotionObserver(null);
    const next = await w.execute(w.expertActions(1, rng)[0]!);
    expect(next.aborted).toBeUndefined();
    expect(w.stepCount).toBe(2);
    expect(Number.isFinite(w.metrics().iou ?? 0)).toBe(true);
    expect(dt).toBeGreaterThan(0);
    w.dispose();
  });

  it('granular: a signal already aborted stops before any motion; the world is unchanged but the step counts', async () => {
    const w = await world('granular-t', 3);
    const before = w.saveState().data.slice(2);
    const ac = new AbortController();
    ac.abort();
    const r = await w.execute(w.expertActions(1, new Rng(3))[0]!, { signal: ac.signal });
    expect(r).toMatchObject({ aborted: true, duration: 0 });
    expect(w.stepCount).toBe(1);
    expect(Buffer.from(w.saveState().data.slice(2).buffer).equals(Buffer.from(before.buffer))).toBe(true);
    w.dispose();
  });

  it('paces the motion: at pace 8, sim time runs at most 8× wall time', async () => {
    const w = await world('rope-circle', 1);
    const r = await w.execute(w.expertActions(1, new Rng(1))[0]!, { pace: 8 });
    expect(r.wall).toBeGreaterThanOrEqual(r.duration / 8 - 0.01);
    w.dispose();
  });

  it('refuses a bad pace naming the field', async () => {
    const w = await world('rope-circle', 1);
    await expect(w.execute(w.expertActions(1, new Rng(1))[0]!, { pace: -1 })).rejects.toThrow(/pace: expected a finite number ≥ 0/);
    expect(() => w.setExecuteDefaults({ pace: Number.NaN })).toThrow(/pace: expected/);
    w.dispose();
  });
});
