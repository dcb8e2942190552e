// Cross-task transfer: Gromov–Wasserstein solvers, trajectory distances and PEARL-style label transfer.
export * from './dense.ts';
export * from './gw-problem.ts';
export * from './gw-tensor.ts';
export * from './sinkhorn.ts';
export * from './marginals.ts';
export * from './entropic-gw.ts';
export * from './network-simplex.ts';
export * from './cg-gw.ts';
export * from './gw-input.ts';
export * from './trajectory-distance.ts';
export * from './label-transfer.ts';
export * from './segment-features.ts';
export * from './wasm/kernels.ts';
