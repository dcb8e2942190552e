// Which ActionProposer / CandidateScorer the policy node runs: `random` (uniform in the workspace, for
// bring-up), `expert` (the sim world's scripted expert; in-process sim stack only), or a module that
// builds them (`module:<path>`, exporting `createPolicyStages(options)`), e.g. a trained policy loader.
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { WorkspaceBox } from '../src/core/geometry.ts';
import type { PrimitiveKind, Primitive } from '../src/core/primitive.ts';
import { Rng } from '../src/core/rng.ts';
import type { ActionProposer } from '../src/core/stages.ts';
import type { World } from '../src/core/world.ts';
import type { PolicyStages } from './nodes/policy.ts';

/** Uniform random primitives in the workspace box (the `random` baseline of `pamstack eval`). */
export function randomProposer(kind: PrimitiveKind, box: WorkspaceBox): ActionProposer {
  const point = (rng: Rng): [number, number, number] => [
    rng.uniform(box.min[0], box.max[0]),
    rng.uniform(box.min[1], box.max[1]),
    rng.uniform(Math.max(box.min[2], 0), Math.max(box.min[2], Math.min(box.max[2], 0.02))),
  ];
  return {
    name: 'random',
    async propose(_cloud, n, seed) {
      const rng = new Rng(seed);
      return Array.from({ length: n }, (): Primitive => ({ kind, a: point(rng), b: point(rng) }));
    },
  };
}

/** The sim world's scripted expert as a proposer (needs the world in the same process). */
export function expertProposer(world: World): ActionProposer {
  return { name: 'expert', propose: async (_cloud, n, seed) => world.expertActions(n, new Rng(seed)) };
}

export interface StageOptions {
  /** `random`, `expert` or `module:<path>`. */
  policy: string;
  kind: PrimitiveKind;
  workspace: WorkspaceBox;
  /** Needed for `expert`. */
  world?: World;
}

/** Builds the policy node's stages; throws naming the `policy` value and the accepted forms. */
export async function loadPolicyStages(o: StageOptions): Promise<PolicyStages> {
  if (o.policy === 'random') return { proposer: randomProposer(o.kind, o.workspace), scorer: null };
  if (o.policy === 'expert') {
    if (!o.world) throw new Error('policy: "expert" needs the simulated world in the same process (the in-process sim stack)');
    return { proposer: expertProposer(o.world), scorer: null };
  }
  if (existsSync(join(resolve(o.policy), 'default.json'))) return committedPolicyStages(resolve(o.policy), o);
  if (o.policy.startsWith('module:')) {
    const file = resolve(o.policy.slice('module:'.length));
    const mod = (await import(pathToFileURL(file).href)) as { createPolicyStages?: (o: StageOptions) => Promise<PolicyStages> };
    if (typeof mod.createPolicyStages !== 'function') throw new Error(`policy: ${file} does not export createPolicyStages(options)`);
    return mod.createPolicyStages(o);
  }
  throw new Error(`policy: expected random, expert, a policies/<task> folder or module:<path>, received ${JSON.stringify(o.policy)}`);
}

/**
 * A committed policies/<task> folder (default.json from `pamstack policies rebuild`): the trained
 * diffusion policy proposes; with select `ras` its reward scores (implicit, bt or robust), otherwise
 * candidates keep proposal order.
 */
async function committedPolicyStages(dir: string, o: StageOptions): Promise<PolicyStages> {
  const { readCommittedDefault } = await import('../src/stack/flywheel/rebuild.ts');
  const d = readCommittedDefault(dir);
  if (!d) throw new Error(`policy: ${dir} has no default.json`);
  if (d.select === 'ras') {
    const { loadRasStages } = await import('../src/stack/ras-agent.ts');
    const stages = await loadRasStages(d.policy, {
      reward: d.reward ?? 'implicit',
      ...(d.rewardDir ? { rewardDir: d.rewardDir } : {}),
      ...(d.lcb !== undefined ? { lcb: d.lcb } : {}),
      workspace: () => o.workspace,
    });
    return { proposer: stages.proposer, scorer: stages.scorer };
  }
  const [{ initBackend }, { loadPolicy }, { PolicyProposer }] = await Promise.all([
    import('../src/nn/backend.ts'),
    import('../src/policy/checkpoint.ts'),
    import('../src/policy/proposer.ts'),
  ]);
  await initBackend();
  const { model, processor } = loadPolicy(d.policy, { trainable: false });
  return { proposer: new PolicyProposer(model, processor, { kind: o.kind }), scorer: null };
}
