// `npm run bench -- sim [--episodes N] [--tasks a,b]`: simulator speed per task — ms per physics step,
// realtime factor, wall time of one primitive, observe() time and expert episodes per minute.
import { createWorld, type MujocoWorld } from '../sim/index.ts';
import os from 'node:os';
import { Rng } from '../src/core/index.ts';
import { machineDescription, median, printTable, writeBenchResult } from './_common.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const episodes = Math.max(1, Number(flag('episodes', '2')));
const tasks = flag('tasks', 'rope-circle,granular-t,cloth-unfold').split(',');
const machine = machineDescription();
const rows: Record<string, string | number>[] = [];

for (const task of tasks) {
  const world = (await createWorld(task)) as unknown as MujocoWorld;
  const dt = world.timestep;
  const primWall: number[] = [];
  let simT = 0;
  let wallT = 0;
  let cpuT = 0;
  const obsMs: number[] = [];
  const epWall: number[] = [];
  let resetWall = 0;
  for (let e = 0; e < episodes; e++) {
    const r0 = performance.now();
    world.reset(1000 + e);
    resetWall += (performance.now() - r0) / 1000;
    const rng = new Rng(e);
    const e0 = performance.now();
    for (let s = 0; s < world.stepLimit && !world.success(); s++) {
      const o0 = performance.now();
      world.observe();
      obsMs.push(performance.now() - o0);
      const [a] = world.expertActions(10, rng);
      const c0 = process.cpuUsage();
      const r = await world.execute(a!);
      const c1 = process.cpuUsage(c0);
      cpuT += (c1.user + c1.system) / 1e6;
      primWall.push(r.wall);
      simT += r.duration;
      wallT += r.wall;
    }
    epWall.push((performance.now() - e0) / 1000);
  }
  const msPerStep = (wallT * 1000) / (simT / dt);
  // CPU time of this process: less disturbed than wall time when other jobs share the cores.
  const cpuMsPerStep = (cpuT * 1000) / (simT / dt);
  const meanEp = epWall.reduce((a, b) => a + b, 0) / epWall.length + resetWall / episodes;
  const row = {
    task,
    'ms/step': +msPerStep.toFixed(3),
    timestep_ms: dt * 1000,
    realtime: +(simT / wallT).toFixed(2),
    'cpu_ms/step': +cpuMsPerStep.toFixed(3),
    realtime_cpu: +(simT / cpuT).toFixed(2),
    'primitive_s (median)': +median(primWall).toFixed(3),
    'primitive_sim_s': +(simT / primWall.length).toFixed(2),
    'observe_ms (median)': +median(obsMs).toFixed(1),
    'reset_s': +(resetWall / episodes).toFixed(2),
    'episodes/min (expert)': +(60 / meanEp).toFixed(2),
  };
  rows.push(row);
  writeBenchResult(`sim-${task}`, {
    name: 'sim',
    workload: `${task}: expert episodes (${episodes}), ms per physics step during primitives`,
    ours_ms: row['ms/step'],
    anchor: 'realtime (one physics timestep of simulated time)',
    anchor_ms: dt * 1000,
    ratio: +(msPerStep / (dt * 1000)).toFixed(4),
    backend: 'mujoco-js 0.0.7 (MuJoCo 3.3.8 WASM), Node ' + process.version,
    machine,
    realtime_factor: row.realtime,
    cpu_ms_per_step: row['cpu_ms/step'],
    realtime_factor_cpu: row.realtime_cpu,
    primitive_wall_s: row['primitive_s (median)'],
    primitive_sim_s: row.primitive_sim_s,
    observe_ms: row['observe_ms (median)'],
    reset_s: row.reset_s,
    episodes_per_minute: row['episodes/min (expert)'],
    primitives: primWall.length,
  });
  world.dispose();
}
console.log(`sim bench on ${machine}, load average ${os.loadavg()[0]!.toFixed(1)} (single thread; wall timings are noisy on a shared machine, cpu_* columns count this process's CPU time)`);
printTable(rows);
