// Picking a 3D point under the mouse: on the cloud's own points first, on the table plane only where no point is near.
import * as THREE from 'three';
import type { CloudLayer } from '../cloud-layer.ts';
import type { Viewer } from '../viewer.ts';

/** Pick radius in CSS pixels around the cursor. */
export const PICK_PIXELS = 8;

export interface PickHit {
  point: THREE.Vector3;
  /** True when the point is a cloud point (snapped); false for the table-plane fallback. */
  onCloud: boolean;
  index: number | null;
}

/**
 * Raycasts the cloud's points (tolerance PICK_PIXELS at the orbit distance); a place target off the
 * object (e.g. where a rope end should go) falls back to the plane z = tableZ.
 */
export function pickOnCloud(viewer: Viewer, layer: CloudLayer, clientX: number, clientY: number, tableZ = 0): PickHit | null {
  const r = viewer.rayAt(clientX, clientY);
  if (!r) return null;
  const hit = layer.pick(r.ray, viewer.worldPerPixel() * PICK_PIXELS);
  if (hit) return { point: hit.point, onCloud: true, index: hit.index };
  const plane = new THREE.Plane(new THREE.Vector3(0, 0, 1), -tableZ);
  const p = r.ray.ray.intersectPlane(plane, new THREE.Vector3());
  return p ? { point: p, onCloud: false, index: null } : null;
}
