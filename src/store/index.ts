// The preference and annotation store (SQLite): users and tokens, the queue, answers, statistics, JSONL export.
export * from './store.ts';
export * from './store-error.ts';
export * from './users.ts';
export * from './items.ts';
export * from './stats.ts';
export * from './export.ts';
export * from './migrations.ts';
export * from './seed-from-world.ts';
