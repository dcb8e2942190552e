// The MuJoCo WASM module (mujoco-js) loaded once per process, and small helpers around its bindings.
import loadMujoco, { type MainModule, type MjData, type MjModel } from 'mujoco-js';

let modulePromise: Promise<MainModule> | null = null;
let fileCounter = 0;

/** The shared MuJoCo module; the first call loads the ~11 MB WASM file (≈0.2 s). */
export function mujoco(): Promise<MainModule> {
  if (!modulePromise) {
    modulePromise = loadMujoco().then((mj) => {
      (mj as unknown as { FS: { mkdir(p: string): void } }).FS.mkdir('/pamstack');
      return mj;
    });
  }
  return modulePromise;
}

/** Compiles MJCF text into a model and data. A compile error is rethrown with the MJCF's first lines. */
export function loadModel(mj: MainModule, xml: string, name: string): { model: MjModel; data: MjData } {
  const fs = (mj as unknown as { FS: { writeFile(p: string, s: string): void; unlink(p: string): void } }).FS;
  const path = `/pamstack/${name}-${fileCounter++}.xml`;
  fs.writeFile(path, xml);
  try {
    let model: MjModel;
    try {
      model = mj.MjModel.loadFromXML(path);
    } catch (e) {
      throw new Error(`MuJoCo could not compile the ${name} model (${describeWasmError(mj, e)})`);
    }
    if (!model) throw new Error(`MuJoCo could not compile the ${name} model`);
    const data = new mj.MjData(model);
    return { model, data };
  } finally {
    fs.unlink(path);
  }
}

function describeWasmError(mj: MainModule, e: unknown): string {
  // Emscripten's CppException carries only the C++ type name (e.g. mjXError), not the text.
  if (e instanceof Error) return e.message || e.name;
  const anyMj = mj as unknown as { getExceptionMessage?: (x: unknown) => [string, string] };
  if (typeof e === 'number' && anyMj.getExceptionMessage) {
    try {
      return anyMj.getExceptionMessage(e).join(': ');
    } catch {
      /* fall through */
    }
  }
  return String(e);
}

/** Id of a named object (`kind`: 'body' | 'equality' | 'geom' | 'flex'); throws naming it when absent. */
export function nameId(mj: MainModule, model: MjModel, kind: 'body' | 'equality' | 'geom' | 'flex', name: string): number {
  const obj = {
    body: mj.mjtObj.mjOBJ_BODY,
    equality: mj.mjtObj.mjOBJ_EQUALITY,
    geom: mj.mjtObj.mjOBJ_GEOM,
    flex: mj.mjtObj.mjOBJ_FLEX,
  }[kind];
  const id = mj.mj_name2id(model, obj.value, name);
  if (id < 0) throw new Error(`model has no ${kind} named "${name}"`);
  return id;
}

/** Full integration state (time, qpos, qvel, warm start, eq_active, mocap, ...): what save/restore needs. */
export function integrationStateSpec(mj: MainModule): number {
  return mj.mjtState.mjSTATE_INTEGRATION.value;
}

/** Reads the integration state into a new Float64Array. */
export function getState(mj: MainModule, model: MjModel, data: MjData): Float64Array {
  const spec = integrationStateSpec(mj);
  const n = mj.mj_stateSize(model, spec);
  const buf = new mj.DoubleBuffer(n);
  try {
    mj.mj_getState(model, data, buf, spec);
    return new Float64Array(buf.GetView() as Float64Array);
  } finally {
    buf.delete();
  }
}

/** Writes a state read by getState back and recomputes derived quantities (mj_forward). */
export function setState(mj: MainModule, model: MjModel, data: MjData, state: Float64Array): void {
  const spec = integrationStateSpec(mj);
  const n = mj.mj_stateSize(model, spec);
  if (state.length !== n) throw new Error(`state: expected ${n} numbers for this model, received ${state.length}`);
  // mj_setState copies a JS array (a typed array converts too); mj_getState needs a DoubleBuffer.
  mj.mj_setState(model, data, state as unknown as number[], spec);
  mj.mj_forward(model, data);
}
