// Reward-guided action selection with a safety filter and best-first fallback.
export * from './safety.ts';
export * from './select-action.ts';
