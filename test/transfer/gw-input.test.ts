import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/stack/cli.ts';
import {
  cgGromovWasserstein,
  entropicGromovWasserstein,
  gwOutputFrom,
  gwRequestFrom,
  parseGwJson,
  solveGwRequest,
} from '../../src/transfer/index.ts';

const good = () => ({
  C1: [
    [0, 1, 2],
    [1, 0, 1],
    [2, 1, 0],
  ],
  C2: [
    [0, 1],
    [1, 0],
  ],
  p: [0.2, 0.3, 0.5],
  q: [0.5, 0.5],
  epsilon: 0.1,
  loss: 'square_loss',
  solver: 'entropic',
});

type Spec = ReturnType<typeof good> & Record<string, unknown>;
const bad: [string, (s: Spec) => void, RegExp][] = [
  ['ragged C1', (s) => (s.C1[1] = [1, 0]), /^C1: expected a square matrix \(3 rows of 3 numbers\), received "row 1 with 2 entries"/],
  ['non-square C2', (s) => (s.C2 = [[0, 1, 2], [1, 0, 3]]), /^C2: expected a square matrix/],
  ['asymmetric C1', (s) => (s.C1[0]![2] = 3), /^C1\[0\]\[2\]: expected a symmetric matrix \(C1\[2\]\[0\] = 2\), received 3/],
  ['asymmetric C2', (s) => (s.C2[1]![0] = 0.5), /^C2\[0\]\[1\]: expected a symmetric matrix/],
  ['p not summing to 1', (s) => (s.p = [0.2, 0.3, 0.4]), /^p: expected weights summing to 1 \(±0\.000001\), received "sum 0\.9/],
  ['q not summing to 1', (s) => (s.q = [0.5, 0.6]), /^q: expected weights summing to 1/],
  ['p of the wrong length', (s) => (s.p = [0.5, 0.5]), /^p: expected length 3 \(C1 is 3×3\), received "length 2"/],
  ['q of the wrong length', (s) => (s.q = [1 / 3, 1 / 3, 1 / 3]), /^q: expected length 2 \(C2 is 2×2\), received "length 3"/],
  ['negative weight', (s) => (s.p = [-0.2, 0.7, 0.5]), /^p\[0\]: expected a non-negative weight, received -0\.2/],
  ['negative epsilon', (s) => (s.epsilon = -0.1), /^epsilon: expected a finite number > 0, received -0\.1/],
  ['zero epsilon', (s) => (s.epsilon = 0), /^epsilon: expected a finite number > 0, received 0/],
  ['missing epsilon (entropic)', (s) => delete (s as Partial<Spec>).epsilon, /^epsilon: expected a finite number > 0 \(solver "entropic"\)/],
  ['NaN in C1', (s) => ((s.C1[2] as unknown[])[1] = 'NaN'), /^C1\[2\]\[1\]: expected a finite number, received NaN/],
  ['a string in q', (s) => ((s.q as unknown[])[0] = 'half'), /^q\[0\]: expected a finite number, received "half"/],
  ['an unknown loss', (s) => ((s as Record<string, unknown>).loss = 'l1'), /loss/],
  ['an unknown key', (s) => ((s as Record<string, unknown>).eps = 1), /Unrecognized key: "eps"/],
];

describe('gwRequestFrom', () => {
  it('accepts the contract', () => {
    const req = gwRequestFrom(good());
    expect(req.problem.C1.length).toBe(9);
    const { result, ms } = solveGwRequest(req);
    const out = gwOutputFrom(result, ms);
    expect(Object.keys(out).sort()).toEqual(['T', 'gw', 'iterations', 'ms']);
    expect(out.T.length).toBe(3);
    expect(out.T[0]!.length).toBe(2);
  });

  it('ignores epsilon for cg, whatever its value or absence (the contract)', () => {
    for (const epsilon of [0, -1, 'x', undefined]) {
      const s = { ...good(), solver: 'cg', epsilon } as Record<string, unknown>;
      if (epsilon === undefined) delete s.epsilon;
      const req = gwRequestFrom(s);
      expect(req.epsilon).toBeUndefined();
      expect(solveGwRequest(req).result.converged).toBe(true);
    }
  });

  it.each(bad)('refuses %s, naming it', (_, mutate, message) => {
    const s = good() as Spec;
    mutate(s);
    expect(() => gwRequestFrom(s)).toThrow(message);
  });

  it('names a bare NaN token in the JSON text', () => {
    const text = JSON.stringify(good()).replace('[0,1,2]', '[0,NaN,2]');
    expect(() => gwRequestFrom(parseGwJson(text))).toThrow(/^C1\[0\]\[1\]: expected a finite number, received NaN/);
  });

  it('the solvers themselves refuse NaN and bad marginals', () => {
    const C = Float64Array.from([0, 1, 1, 0]);
    const w = Float64Array.from([0.5, 0.5]);
    expect(() => entropicGromovWasserstein({ C1: Float64Array.from([0, NaN, NaN, 0]), C2: C, p: w, q: w }, { epsilon: 0.1 })).toThrow(
      /^C1\[0\]\[1\]: expected a finite number, received NaN/,
    );
    expect(() => cgGromovWasserstein({ C1: C, C2: C, p: w, q: Float64Array.from([0.5, 0.4]) })).toThrow(/^q: expected weights summing to 1/);
    expect(() => cgGromovWasserstein({ C1: C.subarray(1), C2: C, p: w, q: w })).toThrow(/^C1: expected a non-empty square matrix/);
    expect(() => entropicGromovWasserstein({ C1: C, C2: C, p: w, q: w }, { epsilon: Number.NaN })).toThrow(/^epsilon: expected a finite number > 0/);
  });
});

/** Runs the CLI in-process (a spawned tsx start-up costs seconds on a shared 2-core machine). */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((x) => ((stdout += String(x)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((x) => ((stderr += String(x)), true));
  try {
    return { status: await main(['node', 'pamstack', ...args]), stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('pamstack gw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pamstack-gw-'));
  const file = (name: string, spec: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return path;
  };

  it('prints { T, gw, iterations, ms } as the last line with --json', async () => {
    for (const solver of ['entropic', 'cg']) {
      const r = await run(['gw', '--in', file(`ok-${solver}.json`, { ...good(), solver }), '--json']);
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      const out = JSON.parse(lines[lines.length - 1]!);
      expect(out.T.length).toBe(3);
      expect(out.T.flat().reduce((s: number, x: number) => s + x, 0)).toBeCloseTo(1, 12);
      expect(typeof out.gw).toBe('number');
      expect(out.iterations).toBeGreaterThan(0);
      expect(out.ms).toBeGreaterThanOrEqual(0);
    }
  });

  it.each([
    ['asymmetric', (s: Spec) => (s.C1[0]![2] = 3), /C1\[0\]\[2\]: expected a symmetric matrix/],
    ['bad sum', (s: Spec) => (s.q = [0.5, 0.6]), /q: expected weights summing to 1/],
    ['negative epsilon', (s: Spec) => (s.epsilon = -1), /epsilon: expected a finite number > 0/],
  ])('exits 2 on %s input, naming the field', async (name, mutate, message) => {
    const s = good() as Spec;
    mutate(s);
    const r = await run(['gw', '--in', file(`${name}.json`, s)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('solves cg with epsilon 0 (ignored), and --exact runs POT\'s iterates to the same plan', async () => {
    const cg = await run(['gw', '--in', file('cg-eps0.json', { ...good(), solver: 'cg', epsilon: 0 }), '--json']);
    expect(cg.status).toBe(0);
    const last = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const path = file('entropic.json', good());
    const fast = last(await run(['gw', '--in', path, '--json']));
    const exact = last(await run(['gw', '--in', path, '--json', '--exact']));
    expect(Math.max(...fast.T.flat().map((x: number, i: number) => Math.abs(x - exact.T.flat()[i])))).toBeLessThan(1e-6);
  });

  it('exits 2 on a missing file and on NaN in the text', async () => {
    expect((await run(['gw', '--in', join(dir, 'nope.json')])).stderr).toMatch(/--in: cannot read/);
    const text = JSON.stringify(good()).replace('"p":[0.2,0.3,0.5]', '"p":[0.2,NaN,0.5]');
    const r = await run(['gw', '--in', file('nan.json', text)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/p\[1\]: expected a finite number, received NaN/);
  });
});
