import { describe, expect, it } from 'vitest';
import { cosineAlphaBar, ddimTimesteps, squaredCosCapV2 } from '../../src/policy/schedule.ts';

describe('squaredcos_cap_v2', () => {
  const s = squaredCosCapV2(100);

  it('ᾱ_t matches the closed form cos²(((t+1)/T + s)/(1+s)·π/2) / ᾱ(0) wherever β is not capped', () => {
    for (let t = 0; t < 99; t++) {
      const closed = cosineAlphaBar((t + 1) / 100) / cosineAlphaBar(0);
      expect(Math.abs(s.alphasCumprod[t]! - closed)).toBeLessThan(2e-6 + 2e-5 * closed);
    }
  });

  it.each([
    [0, 0.99937],
    [9, 0.9721],
    [49, 0.4938],
    [89, 0.0241],
  ])('ᾱ_%i ≈ %f (the research notes)', (t, v) => {
    expect(s.alphasCumprod[t]!).toBeCloseTo(v, 4);
  });

  it('caps β at 0.999 and ends near zero', () => {
    expect(Math.max(...s.betas)).toBeCloseTo(0.999, 6);
    expect(s.alphasCumprod[99]!).toBeLessThan(1e-6);
  });

  it('refuses a bad T', () => {
    expect(() => squaredCosCapV2(1)).toThrow(/T: expected an integer ≥ 2, received 1/);
  });
});

describe('ddimTimesteps', () => {
  it.each([
    [100, [99, 98, 97]],
    [10, [99, 88, 77, 66, 55, 44, 33, 22, 11, 0]],
    [1, [99]],
  ])('%i steps', (steps, head) => {
    const ts = Array.from(ddimTimesteps(100, steps));
    expect(ts.length).toBe(steps);
    expect(ts.slice(0, head.length)).toEqual(head);
    expect(ts[ts.length - 1]).toBe(steps === 1 ? 99 : 0);
  });

  it('refuses more steps than T', () => {
    expect(() => ddimTimesteps(100, 101)).toThrow(/steps: expected an integer in \[1, 100\], received 101/);
  });
});
