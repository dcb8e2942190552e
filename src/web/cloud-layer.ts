// A scene holding one point cloud in a preallocated, grow-only buffer (written in place), plus an overlay group.
import * as THREE from 'three';

/** Turbo colormap (Google), 256 entries, built once: height colouring when a cloud has no rgb. */
const TURBO = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    const r = 0.1357 + x * (4.5974 - x * (42.3277 - x * (130.5887 - x * (150.5666 - x * 58.1375))));
    const g = 0.0914 + x * (2.1856 + x * (4.8052 - x * (14.0195 - x * (4.2109 + x * 2.7747))));
    const b = 0.1067 + x * (12.5925 - x * (60.1097 - x * (109.0745 - x * (88.5066 - x * 26.8183))));
    lut[i * 3] = Math.round(255 * Math.min(1, Math.max(0, r)));
    lut[i * 3 + 1] = Math.round(255 * Math.min(1, Math.max(0, g)));
    lut[i * 3 + 2] = Math.round(255 * Math.min(1, Math.max(0, b)));
  }
  return lut;
})();

export class CloudLayer {
  readonly scene = new THREE.Scene();
  /** Candidate glyphs, markers, paths: cleared per item. */
  readonly overlay = new THREE.Group();
  /** Table grid and workspace box: kept across items. */
  readonly fixtures = new THREE.Group();
  readonly points: THREE.Points;
  #geometry = new THREE.BufferGeometry();
  #pos!: THREE.BufferAttribute;
  #col!: THREE.BufferAttribute;
  #capacity = 0;
  #n = 0;
  #bounds = new THREE.Box3();
  #boundsDirty = true;

  constructor(capacity = 65_536, pointSize = 3) {
    this.#allocate(capacity);
    const mat = new THREE.PointsMaterial({ size: pointSize, sizeAttenuation: false, vertexColors: true });
    this.points = new THREE.Points(this.#geometry, mat);
    this.points.frustumCulled = false;
    this.scene.add(this.points, this.overlay, this.fixtures);
    const grid = new THREE.GridHelper(1.2, 12, 0x3a414c, 0x262b33);
    grid.rotation.x = Math.PI / 2; // GridHelper lies in XZ; the table is XY (z up).
    this.fixtures.add(grid);
  }

  get count(): number {
    return this.#n;
  }

  /** Bounds of the current cloud (table frame), computed on demand (live frames do not need them). */
  get bounds(): THREE.Box3 {
    if (this.#boundsDirty) {
      this.#boundsDirty = false;
      const pos = this.#pos.array as Float32Array;
      const b = this.#bounds.makeEmpty();
      if (this.#n) {
        let xmin = Infinity, ymin = Infinity, zmin = Infinity, xmax = -Infinity, ymax = -Infinity, zmax = -Infinity;
        for (let i = 0; i < this.#n; i++) {
          const x = pos[i * 3]!, y = pos[i * 3 + 1]!, z = pos[i * 3 + 2]!;
          if (x < xmin) xmin = x;
          if (x > xmax) xmax = x;
          if (y < ymin) ymin = y;
          if (y > ymax) ymax = y;
          if (z < zmin) zmin = z;
          if (z > zmax) zmax = z;
        }
        b.min.set(xmin, ymin, zmin);
        b.max.set(xmax, ymax, zmax);
      }
      this.#geometry.boundingSphere = b.isEmpty() ? new THREE.Sphere() : b.getBoundingSphere(new THREE.Sphere());
    }
    return this.#bounds;
  }

  /** Copies a cloud ([n, 3] xyz; optional [n, 3] rgb) into the buffers; grows them only when n exceeds capacity. */
  setCloud(points: Float32Array, rgb?: Uint8Array): void {
    const n = Math.floor(points.length / 3);
    if (n > this.#capacity) this.#allocate(Math.max(n, this.#capacity * 2));
    (this.#pos.array as Float32Array).set(points.subarray(0, n * 3));
    const col = this.#col.array as Uint8Array;
    if (rgb)
      for (let i = 0; i < n; i++) {
        col[i * 4] = rgb[i * 3]!;
        col[i * 4 + 1] = rgb[i * 3 + 1]!;
        col[i * 4 + 2] = rgb[i * 3 + 2]!;
      }
    else {
      let zmin = Infinity;
      let zmax = -Infinity;
      for (let i = 0; i < n; i++) {
        const z = points[i * 3 + 2]!;
        if (z < zmin) zmin = z;
        if (z > zmax) zmax = z;
      }
      // At least 10 cm of colour range: a flat object (rope on the table) reads as one colour, not as noise.
      const span = Math.max(zmax - zmin, 0.1);
      for (let i = 0; i < n; i++) {
        const k = Math.min(255, Math.max(0, Math.round(40 + (200 * (points[i * 3 + 2]! - zmin)) / span))) * 3;
        col[i * 4] = TURBO[k]!;
        col[i * 4 + 1] = TURBO[k + 1]!;
        col[i * 4 + 2] = TURBO[k + 2]!;
      }
    }
    this.#n = n;
    this.#boundsDirty = true;
    this.#pos.clearUpdateRanges();
    this.#pos.addUpdateRange(0, n * 3);
    this.#pos.needsUpdate = true;
    this.#col.clearUpdateRanges();
    this.#col.addUpdateRange(0, n * 4);
    this.#col.needsUpdate = true;
    this.#geometry.setDrawRange(0, n);
  }

  /** The cloud point nearest the ray within `tolerance` (world units), or null. Checks every point (fine to ~100k). */
  pick(ray: THREE.Raycaster, tolerance: number): { index: number; point: THREE.Vector3 } | null {
    void this.bounds; // the raycast tests the bounding sphere first
    ray.params.Points = { threshold: tolerance };
    const hits = ray.intersectObject(this.points, false);
    if (!hits.length) return null;
    // Nearest to the ray first, then nearest to the camera (three sorts by distance along the ray only).
    hits.sort((a, b) => (a.distanceToRay ?? 0) - (b.distanceToRay ?? 0) || a.distance - b.distance);
    const h = hits[0]!;
    const i = h.index ?? 0;
    const pos = this.#pos.array as Float32Array;
    return { index: i, point: new THREE.Vector3(pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]) };
  }

  /** Point i of the current cloud. */
  pointAt(i: number): THREE.Vector3 {
    const pos = this.#pos.array as Float32Array;
    return new THREE.Vector3(pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]);
  }

  clearOverlay(): void {
    for (const c of [...this.overlay.children]) {
      this.overlay.remove(c);
      disposeTree(c);
    }
  }

  clearFixtures(keepGrid = true): void {
    for (const c of [...this.fixtures.children]) {
      if (keepGrid && c instanceof THREE.GridHelper) continue;
      this.fixtures.remove(c);
      disposeTree(c);
    }
  }

  #allocate(capacity: number): void {
    this.#capacity = capacity;
    this.#pos = new THREE.BufferAttribute(new Float32Array(capacity * 3), 3).setUsage(THREE.DynamicDrawUsage);
    // RGBA, not RGB: 3-byte vertex formats are emulated (converted on every upload) by ANGLE's Vulkan backend.
    this.#col = new THREE.BufferAttribute(new Uint8Array(capacity * 4).fill(255), 4, true).setUsage(THREE.DynamicDrawUsage);
    this.#geometry.dispose();
    this.#geometry.setAttribute('position', this.#pos);
    this.#geometry.setAttribute('color', this.#col);
    this.#geometry.setDrawRange(0, this.#n);
  }
}

export function disposeTree(o: THREE.Object3D): void {
  o.traverse((x) => {
    const m = x as THREE.Mesh;
    m.geometry?.dispose();
    const mat = m.material as THREE.Material | THREE.Material[] | undefined;
    if (Array.isArray(mat)) mat.forEach((mm) => mm.dispose());
    else mat?.dispose();
  });
}
