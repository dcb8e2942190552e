// Domain types and schemas shared by every stage; imports nothing else of ours.
export * from './errors.ts';
export * from './rng.ts';
export * from './geometry.ts';
export * from './pointcloud.ts';
export * from './primitive.ts';
export * from './task.ts';
export * from './episode.ts';
export * from './preference.ts';
export * from './stages.ts';
export * from './progress.ts';
export * from './world.ts';
export * from './goal.ts';
