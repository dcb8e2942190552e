// The motion observer of MujocoWorld: frames during a primitive, and physics identical with or without it.
import { describe, expect, it } from 'vitest';
import { createWorld, MujocoWorld } from '../../sim/index.ts';
import type { MotionFrame } from '../../sim/world-base.ts';
import { Rng, type TaskName, type World } from '../../src/core/index.ts';

interface Kept {
  t: number;
  step: number;
  phase: MotionFrame['phase'];
  points: Float32Array;
  tools: Float32Array;
  holding: Uint8Array;
}

/** Runs `steps` expert primitives from `seed`; returns the final saved state (and the frames when observed). */
async function run(task: TaskName, seed: number, observe: boolean, steps = 2): Promise<{ state: Float64Array; frames: Kept[] }> {
  const w = (await createWorld(task)) as World & MujocoWorld;
  const frames: Kept[] = [];
  if (observe)
    w.setMotionObserver((f) =>
      frames.push({ t: f.t, step: f.step, phase: f.phase, points: f.points.slice(), tools: f.tools.slice(), holding: f.holding.slice() }),
    );
  w.reset(seed);
  const rng = new Rng(seed);
  for (let i = 0; i < steps; i++) await w.execute(w.expertActions(1, rng)[0]!);
  const state = w.saveState().data.slice();
  w.dispose();
  return { state, frames };
}

describe('motion observer', () => {
  it.each([
    ['rope-circle', 1, 2],
    ['granular-t', 3, 1],
  ] as const)('%s: the same seed gives bitwise the same state with and without an observer', async (task, seed, steps) => {
    const off = await run(task, seed, false, steps);
    const on = await run(task, seed, true, steps);
    expect(on.frames.length).toBeGreaterThan(10);
    expect(Buffer.from(on.state.buffer).equals(Buffer.from(off.state.buffer))).toBe(true);
  });

  it('rope: start/move/end frames at most every 1/15 s of sim time; the points and the gripper move; the gripper holds while carrying', async () => {
    const { frames } = await run('rope-circle', 1, true);
    const first = frames.filter((f) => f.step === 0);
    expect(first[0]!.phase).toBe('start');
    expect(first.at(-1)!.phase).toBe('end');
    expect(first.filter((f) => f.phase === 'start' || f.phase === 'end')).toHaveLength(2);
    const moves = first.filter((f) => f.phase === 'move');
    for (let i = 1; i < moves.length; i++) expect(moves[i]!.t - moves[i - 1]!.t).toBeGreaterThanOrEqual(1 / 15 - 1e-9);
    // 31 segments of 2 cm drawn as spheres every r/2 (3 mm), plus the last vertex.
    expect(first[0]!.points.length / 3).toBeGreaterThan(100);
    expect(first[0]!.tools).toHaveLength(3);
    const moved = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(moved(first[0]!.points, first.at(-1)!.points)).toBeGreaterThan(0.01);
    expect(moved(first[0]!.tools, moves[Math.floor(moves.length / 2)]!.tools)).toBeGreaterThan(0.05);
    expect(moves.some((f) => f.holding[0] === 1)).toBe(true);
    expect(first.at(-1)!.holding[0]).toBe(0);
    expect(frames.filter((f) => f.step === 1)[0]!.phase).toBe('start');
  });

  it('cloth: triangle centroids and two tools; granular: the wiper mount is not a grasp', async () => {
    const cloth = (await createWorld('cloth-unfold')) as World & MujocoWorld;
    const gran = (await createWorld('granular-t')) as World & MujocoWorld;
    const got: Record<string, MotionFrame[]> = { cloth: [], gran: [] };
    cloth.setMotionObserver((f) => got.cloth!.push({ ...f, points: f.points.slice(), tools: f.tools.slice(), holding: f.holding.slice() }), { period: 0.5 });
    gran.setMotionObserver((f) => got.gran!.push({ ...f, holding: f.holding.slice() }), { period: 0.5 });
    await cloth.execute(cloth.expertActions(1, new Rng(0))[0]!);
    await gran.execute(gran.expertActions(1, new Rng(0))[0]!);
    expect(got.cloth![0]!.points.length / 3).toBe(2 * 9 * 9);
    expect(got.cloth![0]!.tools).toHaveLength(6);
    expect(got.cloth!.some((f) => f.holding[0] === 1 && f.holding[1] === 1)).toBe(true);
    expect(got.gran![0]!.points.length / 3).toBe(160);
    expect(got.gran!.every((f) => f.holding[0] === 0)).toBe(true);
    cloth.dispose();
    gran.dispose();
  });

  it('an observer that throws is removed; the primitive still finishes and execute says why', async () => {
    const a = (await createWorld('rope-circle')) as World & MujocoWorld;
    const b = (await createWorld('rope-circle')) as World & MujocoWorld;
    const p = a.expertActions(1, new Rng(2))[0]!;
    let calls = 0;
    a.setMotionObserver(() => {
      if (++calls === 3) throw new Error('viewer gone');
    });
    await expect(a.execute(p)).rejects.toThrow(/motion observer failed \(the primitive ran to its end.*viewer gone/);
    await b.execute(p);
    expect(calls).toBe(3);
    expect(a.stepCount).toBe(1);
    expect(Buffer.from(a.saveState().data.buffer).equals(Buffer.from(b.saveState().data.buffer))).toBe(true);
    await a.execute(p); // removed: no second throw
    expect(() => a.setMotionObserver(() => {}, { period: 0 })).toThrow(/motion period: expected a finite number > 0 s, received 0/);
    a.dispose();
    b.dispose();
  });
});
