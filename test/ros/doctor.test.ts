// `pamstack ros doctor`: every check fails with its fix on a bare machine, and passes on one set up
// as docs/operators.md says (filesystem and child process injected; no ROS here).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCTOR_MESSAGE_PACKAGES, rosDoctor, type DoctorEnv } from '../../src/stack/commands/ros-doctor.ts';

const repo = new URL('../../', import.meta.url).pathname;

function machine(o: Partial<DoctorEnv> & { files?: Record<string, string> } = {}): DoctorEnv {
  const files = o.files ?? {};
  return {
    nodeVersion: 'v20.20.2',
    env: {},
    exists: (p) => p in files,
    readFile: (p) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p]!;
    },
    rclnodejsDir: null,
    loadRclnodejs: () => null,
    policyDir: '/ws/policies/rope-circle',
    ...o,
  };
}

const ready = (): DoctorEnv => {
  const files: Record<string, string> = {
    '/ws/node_modules/rclnodejs/package.json': JSON.stringify({ version: '2.2.0', engines: { node: '>= 20.20.2' } }),
    '/ws/policies/rope-circle/default.json': '{}',
  };
  for (const p of DOCTOR_MESSAGE_PACKAGES) files[`/opt/ros/jazzy/share/${p}/package.xml`] = '<package/>';
  return machine({ files, env: { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: '/ws/install/pamstack:/opt/ros/jazzy' }, rclnodejsDir: '/ws/node_modules/rclnodejs' });
};

describe('ros doctor', () => {
  it('a machine set up per docs/operators.md passes every check', () => {
    const checks = rosDoctor(ready());
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(['node', 'ros_distro', 'rclnodejs', ...DOCTOR_MESSAGE_PACKAGES.map((p) => `msgs:${p}`), 'policy']);
  });

  it('a bare machine fails each check with its exact fix', () => {
    const checks = rosDoctor(machine({ nodeVersion: 'v18.19.1' }));
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by.node!.ok).toBe(false);
    expect(by.node!.detail).toMatch(/Node v18.19.1 \(rclnodejs needs >= 20.20.2/);
    expect(by.node!.fix).toMatch(/nodesource|nvm install 20/);
    expect(by.ros_distro!.fix).toMatch(/source \/opt\/ros\/jazzy\/setup.bash/);
    expect(by.rclnodejs!.fix).toMatch(/npm ci \(with ROS sourced; without it npm silently skips the optional rclnodejs\)/);
    expect(by['msgs:moveit_msgs']!.fix).toMatch(/sudo apt-get install ros-<distro>-moveit-msgs && npx generate-ros-messages/);
    expect(by.policy!.detail).toMatch(/default.json is missing/);
  });

  it('rclnodejs built for another distro (it fails to load) and an unsupported distro are reported', () => {
    const e = ready();
    const checks = rosDoctor({ ...e, loadRclnodejs: () => 'librcl.so: cannot open shared object file' });
    const r = checks.find((c) => c.name === 'rclnodejs')!;
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/rclnodejs 2.2.0 does not load for jazzy: librcl.so/);
    const rolling = rosDoctor({ ...e, env: { ...e.env, ROS_DISTRO: 'rolling' } });
    expect(rolling.find((c) => c.name === 'ros_distro')!.detail).toMatch(/ROS_DISTRO=rolling \(pamstack supports humble, jazzy\)/);
    expect(rolling.find((c) => c.name === 'rclnodejs')!.detail).toMatch(/not tried: no supported ROS 2 distro is sourced/);
  });

  it('the CLI exits 1 here (no ROS) and --json reports every check', () => {
    const r = spawnSync(process.execPath, [join(repo, 'bin/pamstack.js'), 'ros', 'doctor', '--json', '--policy', join(repo, 'policies/rope-circle')], {
      encoding: 'utf8',
      env: { ...process.env, ROS_DISTRO: '', AMENT_PREFIX_PATH: '' },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(out.ok).toBe(false);
    expect(out.checks.find((c) => c.name === 'ros_distro')!.ok).toBe(false);
    expect(out.checks.find((c) => c.name === 'policy')!.ok).toBe(true);
    expect(r.stderr).toMatch(/check\(s\) failed/);
  }, 60_000);
});
