// Point-cloud maths: PointCloud2 pack/unpack, fusion, preprocessing, object frame and shape metrics.
export * from './metrics.ts';
export * from './spatial-grid.ts';
export * from './assignment.ts';
export * from './pointcloud2.ts';
export * from './crop.ts';
export * from './plane.ts';
export * from './voxel.ts';
export * from './outliers.ts';
export * from './fps.ts';
export * from './object-frame.ts';
export * from './fusion.ts';
export * from './preprocess.ts';
export * from './camera-to-table.ts';
