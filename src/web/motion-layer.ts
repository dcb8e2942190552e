// The object and the tools moving during a primitive (motion frames): one preallocated point buffer written
// in place, and a fixed pool of tool markers (a ball on a stalk; green while it holds the object).
import * as THREE from 'three';
import { MAX_MOTION_TOOLS } from '../core/protocol.ts';

const OBJECT_COLOR = 0x9fdcff;
const TOOL_COLOR = 0xffa040;
const HOLDING_COLOR = 0x3cff7a;

export class MotionLayer {
  /** Add to a scene; hidden until the first frame. */
  readonly group = new THREE.Group();
  readonly points: THREE.Points;
  #geometry = new THREE.BufferGeometry();
  #pos!: THREE.BufferAttribute;
  #capacity = 0;
  #n = 0;
  #tools: { marker: THREE.Group; mat: THREE.MeshBasicMaterial }[] = [];

  constructor(capacity = 4096, pointSize = 5) {
    this.#allocate(capacity);
    this.points = new THREE.Points(this.#geometry, new THREE.PointsMaterial({ size: pointSize, sizeAttenuation: false, color: OBJECT_COLOR }));
    this.points.frustumCulled = false;
    this.group.add(this.points);
    for (let i = 0; i < MAX_MOTION_TOOLS; i++) {
      const mat = new THREE.MeshBasicMaterial({ color: TOOL_COLOR });
      const marker = new THREE.Group();
      marker.add(new THREE.Mesh(new THREE.SphereGeometry(0.012, 16, 10), mat));
      // A stalk up from the tool: reads as the arm coming down from above.
      const stalk = new THREE.Mesh(new THREE.CylinderGeometry(0.003, 0.003, 0.2, 8), mat);
      stalk.rotation.x = Math.PI / 2; // cylinders lie along y; the table frame's up is z
      stalk.position.z = 0.1;
      marker.add(stalk);
      marker.visible = false;
      this.group.add(marker);
      this.#tools.push({ marker, mat });
    }
    this.group.visible = false;
  }

  get count(): number {
    return this.#n;
  }

  get visible(): boolean {
    return this.group.visible;
  }

  /** Shows a frame: object points [n, 3], tools [k, 3] (table frame, m) and which tools hold. */
  set(points: Float32Array, tools: Float32Array, holding: readonly boolean[]): void {
    const n = Math.floor(points.length / 3);
    if (n > this.#capacity) this.#allocate(Math.max(n, this.#capacity * 2));
    (this.#pos.array as Float32Array).set(points.subarray(0, n * 3));
    this.#n = n;
    this.#pos.clearUpdateRanges();
    this.#pos.addUpdateRange(0, n * 3);
    this.#pos.needsUpdate = true;
    this.#geometry.setDrawRange(0, n);
    const k = Math.min(this.#tools.length, Math.floor(tools.length / 3));
    this.#tools.forEach((t, i) => {
      t.marker.visible = i < k;
      if (i >= k) return;
      t.marker.position.set(tools[i * 3]!, tools[i * 3 + 1]!, tools[i * 3 + 2]!);
      t.mat.color.setHex(holding[i] ? HOLDING_COLOR : TOOL_COLOR);
    });
    this.group.visible = true;
  }

  hide(): void {
    this.group.visible = false;
  }

  /** Tool i's position (table frame), or null when it is not shown. */
  toolAt(i: number): [number, number, number] | null {
    const t = this.#tools[i];
    return t && this.group.visible && t.marker.visible ? t.marker.position.toArray() : null;
  }

  #allocate(capacity: number): void {
    this.#capacity = capacity;
    this.#pos = new THREE.BufferAttribute(new Float32Array(capacity * 3), 3).setUsage(THREE.DynamicDrawUsage);
    this.#geometry.dispose();
    this.#geometry.setAttribute('position', this.#pos);
    this.#geometry.setDrawRange(0, this.#n);
  }
}
