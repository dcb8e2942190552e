// A CandidateScorer loaded from a saved reward folder: a learned reward or the optimal advantage Â*(s, a).
import type { WorkspaceBox } from '../core/geometry.ts';
import type { CandidateScorer } from '../core/stages.ts';
import { candidateFeatures, FeatureConfigSchema } from './features.ts';
import { loadRewardModel, type RewardTarget } from './reward-io.ts';

/**
 * Loads `dir/reward.json` (pamstack train reward, transfer, or the regret fit's Â*) as a scorer over
 * table-frame candidate features; robust models give μ as the score and σ as std. The scorer is named
 * after what it scores (`advantage` for Â*, else the model kind). `workspace` is read at every call,
 * since a world's box is known only once it is running. Files without a feature config use the defaults.
 */
export function loadCandidateScorer(
  dir: string,
  workspace: WorkspaceBox | (() => WorkspaceBox),
): CandidateScorer & { target: RewardTarget; dispose(): void } {
  const { model, features, target } = loadRewardModel(dir);
  const feat = features ?? FeatureConfigSchema.parse({});
  const box = typeof workspace === 'function' ? workspace : () => workspace;
  return {
    name: target === 'advantage' ? 'advantage' : model.config.model,
    target,
    score: async (cloud, candidates) => (candidates.length ? model.score(candidateFeatures(cloud, box(), candidates, feat)) : []),
    dispose: () => model.dispose(),
  };
}
