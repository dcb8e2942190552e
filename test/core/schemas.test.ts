import { describe, expect, it } from 'vitest';
import { parseOrThrow, ValidationError } from '../../src/core/errors.ts';
import { workspaceViolation } from '../../src/core/geometry.ts';
import { PrimitiveSchema, primitiveFromArray, primitiveToArray } from '../../src/core/primitive.ts';
import { RankingSchema } from '../../src/core/preference.ts';
import { TaskNameSchema, taskFamily } from '../../src/core/task.ts';

describe('core schemas', () => {
  it('accepts the task names of DESIGN.md and refuses others with the allowed forms', () => {
    for (const t of ['rope-circle', 'rope-s', 'granular-t', 'cloth-unfold']) expect(TaskNameSchema.parse(t)).toBe(t);
    const r = TaskNameSchema.safeParse('cloth');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/rope-<shape>/);
    expect(taskFamily('rope-circle')).toBe('rope');
  });

  it('names the bad field of a primitive', () => {
    expect(() => parseOrThrow(PrimitiveSchema, { kind: 'poke', a: [0, 0, 0], b: [0, 0, 0] }, 'primitive')).toThrow(
      /kind/,
    );
    try {
      parseOrThrow(PrimitiveSchema, { kind: 'sweep', a: [0, 0, 0], b: [0, NaN, 0] }, 'primitive');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as Error).message).toMatch(/b\.1/);
    }
  });

  it('round-trips a primitive through its array form', () => {
    const p = { kind: 'fling' as const, a: [0.1, -0.2, 0.3] as [number, number, number], b: [0.4, 0.5, -0.6] as [number, number, number] };
    const back = primitiveFromArray('fling', primitiveToArray(p));
    back.a.forEach((v, i) => expect(v).toBeCloseTo(p.a[i]!, 6));
    back.b.forEach((v, i) => expect(v).toBeCloseTo(p.b[i]!, 6));
  });

  it('reports which workspace bound a point violates', () => {
    const box = { min: [-0.5, -0.5, 0] as [number, number, number], max: [0.5, 0.5, 0.4] as [number, number, number] };
    expect(workspaceViolation([0, 0, 0.1], box, 'pick')).toBeNull();
    expect(workspaceViolation([0.7, 0, 0.1], box, 'pick')).toBe('pick.x = 0.7 m is above workspace max.x = 0.5 m');
    expect(workspaceViolation([0, 0, -0.1], box, 'place')).toMatch(/place\.z = -0\.1 m is below workspace min\.z/);
  });

  it('fills ranking defaults and rejects negative indices', () => {
    const r = RankingSchema.parse({
      kind: 'ranking', stateId: 's1', candidateCount: 8, groups: [[0], [1, 2]],
      annotator: 'a', source: 'human', time: 1,
    });
    expect(r.notComparable).toEqual([]);
    expect(r.idealBeatsAll).toBe(false);
    expect(RankingSchema.safeParse({ ...r, groups: [[-1]] }).success).toBe(false);
  });
});
