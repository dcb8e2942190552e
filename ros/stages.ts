// The policy node's decider: the same `decide` stage as `pamstack eval`, loaded from the `policy` parameter
// (a policies/<task> folder, a policy checkpoint, `random`, `expert` in the in-process sim, or
// `module:<path>` exporting createPolicyStages), with explicit parameter overrides of single spec keys.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { ActionProposer, CandidateScorer } from '../src/core/stages.ts';
import type { World } from '../src/core/world.ts';
import { composeDecider, loadDecider, proposeStageOf, scoreStageOf, type Decider } from '../src/stack/decider.ts';
import { deciderSpecFor, resolveDeciderSpec, SELECT_MODES, type DeciderOverrides, type DeciderSpec } from '../src/stack/decider-spec.ts';

/** The stages a `module:<path>` policy exports through `createPolicyStages(spec)`. */
export interface PolicyStages {
  proposer: ActionProposer;
  /** Null: candidates keep proposal order (select `first`). */
  scorer: CandidateScorer | null;
}

/** The policy node's parameters that may override spec keys; each names its "use the spec" value. */
export interface DeciderParams {
  policy: string;
  /** 0: the spec's candidates. */
  num_candidates: number;
  /** Negative: the spec's lcb. */
  lcb: number;
  /** Empty: the spec's select. */
  select: string;
}

/** The overrides the parameters make (only those not at their "use the spec" value). */
export function overridesFromParams(p: DeciderParams): DeciderOverrides {
  const o: DeciderOverrides = {};
  if (p.num_candidates > 0) o.candidates = p.num_candidates;
  if (p.lcb >= 0) o.lcb = p.lcb;
  if (p.select !== '') {
    if (!(SELECT_MODES as readonly string[]).includes(p.select)) throw new Error(`policy: parameter select: expected ${SELECT_MODES.join(', ')} or empty (the spec's), received ${JSON.stringify(p.select)}`);
    o.select = p.select as DeciderSpec['select'];
  }
  return o;
}

/** The spec of a `module:` policy: the schema's defaults with the parameter overrides. */
export function moduleSpec(policy: string, overrides: DeciderOverrides): DeciderSpec {
  return { ...resolveDeciderSpec({ policy: 'random' }, '.', overrides, 'policy'), policy };
}

/** A decider over a module's own stages (ranking by the scorer, or proposal order without one). */
export function deciderFromStages(spec: DeciderSpec, stages: PolicyStages): Decider {
  return composeDecider(spec, proposeStageOf(stages.proposer), scoreStageOf(stages.scorer));
}

/**
 * Loads the decider the parameters name; throws naming `policy` and the accepted forms. `world` (the
 * in-process sim) lets `expert` propose and vetoes what the sim would refuse.
 */
export async function loadPolicyDecider(p: DeciderParams, world?: World): Promise<Decider> {
  const overrides = overridesFromParams(p);
  let decider: Decider;
  if (p.policy.startsWith('module:')) {
    const file = resolve(p.policy.slice('module:'.length));
    const mod = (await import(pathToFileURL(file).href)) as { createPolicyStages?: (spec: DeciderSpec) => Promise<PolicyStages> };
    if (typeof mod.createPolicyStages !== 'function') throw new Error(`policy: ${file} does not export createPolicyStages(spec)`);
    const spec = moduleSpec(p.policy, overrides);
    decider = deciderFromStages(spec, await mod.createPolicyStages(spec));
  } else {
    if (p.policy === 'expert' && !world) throw new Error('policy: "expert" needs the simulated world in the same process (the in-process sim stack)');
    let spec: DeciderSpec;
    try {
      spec = deciderSpecFor(p.policy, overrides);
    } catch (e) {
      throw new Error(`policy: ${(e as Error).message} (accepted: a policies/<task> folder, a policy checkpoint, random, expert or module:<path>)`);
    }
    decider = await loadDecider(spec);
  }
  if (!world) return decider;
  return { ...decider, decide: (cloud, ctx) => decider.decide(cloud, { ...ctx, world }), dispose: () => decider.dispose() };
}
