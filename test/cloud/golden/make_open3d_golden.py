#!/usr/bin/python3
"""Open3D 0.16 outputs for test/cloud/open3d-parity.test.ts (run via make-open3d-golden.ts)."""
import json, sys
import numpy as np
import open3d as o3d

pts = np.fromfile(sys.argv[1], dtype="<f4").reshape(-1, 3).astype(np.float64)
pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
box = [-0.6, -0.45, -0.05, 0.6, 0.45, 0.4]
crop = pc.crop(o3d.geometry.AxisAlignedBoundingBox(box[:3], box[3:]))
vox = np.asarray(pc.voxel_down_sample(0.05).points)
vox = vox[np.lexsort((vox[:, 2], vox[:, 1], vox[:, 0]))]
_, kept = pc.remove_statistical_outlier(nb_neighbors=20, std_ratio=2.0)
fps = np.asarray(pc.farthest_point_down_sample(300).points)
o3d.utility.random.seed(0)
plane, inliers = pc.segment_plane(distance_threshold=0.01, ransac_n=3, num_iterations=200)
print(json.dumps({
    "open3d": o3d.__version__,
    "crop_count": len(crop.points),
    "voxel_size": 0.05,
    "voxel_sorted": [[round(float(v), 7) for v in p] for p in vox],
    "outlier_kept": [int(i) for i in kept],
    "fps_k": 300,
    "fps_points": [[float(v) for v in p] for p in fps],
    "plane": [float(v) for v in plane],
    "plane_inliers": len(inliers),
}))
