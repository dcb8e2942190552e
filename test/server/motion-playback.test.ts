// MotionPlayback: sim-time pacing, the fps cap, bounded capture, early stop (a fake clock; no timing).
import { describe, expect, it } from 'vitest';
import { MotionPlayback, type MotionSample } from '../../src/server/motion-playback.ts';

/** A fake clock whose sleep advances it; records the stamps published. */
function harness(opts: ConstructorParameters<typeof MotionPlayback>[1] = {}) {
  let now = 0;
  const out: { stamp: number; at: number; x: number }[] = [];
  const p = new MotionPlayback((f) => out.push({ stamp: f.stamp, at: now, x: f.points[0]! }), {
    ...opts,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  });
  return { p, out, now: () => now };
}

/** Frames every 1/15 s of sim time over `seconds`, 'start' … 'end', from sim time 10. */
function frames(seconds: number): MotionSample[] {
  const n = Math.round(seconds * 15);
  return Array.from({ length: n + 1 }, (_, i) => ({
    t: 10 + i / 15,
    step: 1,
    phase: i === 0 ? 'start' : i === n ? 'end' : 'move',
    points: Float32Array.of(i, 0, 0),
    tools: Float32Array.of(0, 0, 0.1),
    holding: [0],
  }));
}

describe('MotionPlayback', () => {
  it('plays every frame at sim-time pace in real time, and copies what it captures', async () => {
    const { p, out } = harness();
    const src = frames(3);
    for (const f of src) p.capture(f);
    src[5]!.points[0] = -1; // the sim reuses its buffers
    const r = await p.play();
    expect(r).toMatchObject({ captured: 46, published: 46 });
    expect(r.simSeconds).toBeCloseTo(3, 9);
    expect(r.wallSeconds).toBeCloseTo(3, 1);
    expect(out[5]!.x).toBe(5);
    for (const o of out) expect(o.at / 1000).toBeCloseTo(o.stamp - 10, 1);
    expect(p.captured).toBe(0);
  });

  it('caps the frame rate (speed 4 → 60 fps due, at most 20 sent per second) and ends on the last frame', async () => {
    const { p, out } = harness({ speed: 4, maxFps: 20 });
    for (const f of frames(3)) p.capture(f);
    const r = await p.play();
    expect(r.wallSeconds).toBeGreaterThan(0.7);
    expect(r.wallSeconds).toBeLessThan(0.85);
    expect(r.published).toBeLessThanOrEqual(Math.ceil(r.wallSeconds * 20) + 1);
    for (let i = 1; i < out.length; i++) expect(out[i]!.at - out[i - 1]!.at).toBeGreaterThanOrEqual(50 - 1e-9);
    expect(out.at(-1)!.stamp).toBeCloseTo(13, 9);
  });

  it('fits a long motion into maxSeconds and keeps at most maxFrames (+ the end frame)', async () => {
    const { p, out } = harness({ maxFrames: 50, maxSeconds: 8 });
    for (const f of frames(40)) p.capture(f);
    expect(p.captured).toBeLessThanOrEqual(51);
    const r = await p.play();
    expect(r.wallSeconds).toBeLessThan(8.2);
    expect(out[0]!.stamp).toBe(10);
    expect(out.at(-1)!.stamp).toBeCloseTo(50, 9);
  });

  it('stops early when asked; nothing captured plays nothing', async () => {
    const { p, out } = harness();
    for (const f of frames(3)) p.capture(f);
    const r = await p.play(() => out.length >= 3);
    expect(r.published).toBe(3);
    expect(await p.play()).toEqual({ captured: 0, published: 0, simSeconds: 0, wallSeconds: 0 });
  });

  it.each([
    [{ speed: 0 }, 'motion speed: expected a finite number > 0, received 0'],
    [{ maxFrames: 1 }, 'motion maxFrames: expected an integer >= 2, received 1'],
    [{ maxFps: -1 }, 'motion maxFps: expected a number > 0, received -1'],
  ])('refuses %o', (o, msg) => {
    expect(() => new MotionPlayback(() => {}, o)).toThrow(msg);
  });
});
