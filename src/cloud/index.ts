// Point-cloud maths: PointCloud2 pack/unpack, fusion, preprocessing, object frame and shape metrics.
export * from './metrics.ts';
export * from './spatial-grid.ts';
export * from './assignment.ts';
export * from "./pointcloud2.ts";
