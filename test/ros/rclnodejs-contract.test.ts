// The node contract against real rclnodejs. Runs only where a ROS 2 environment is sourced
// (ROS_DISTRO set, rclnodejs installed after `npm ci` with ROS sourced); skipped otherwise, saying so.
import { describe, it } from 'vitest';
import type { RclNodejsModule } from '../../ros/rclnodejs-api.ts';
import type { ParamOverrides } from '../../ros/in-process.ts';
import { nodeContract, type ContractHarness } from './contract.ts';

const distro = process.env.ROS_DISTRO;
const reason = distro ? null : 'ROS_DISTRO is not set: no ROS 2 environment is sourced, so the node contract runs on the in-process port only (test/ros/nodes.test.ts)';

async function loadRclnodejs(): Promise<RclNodejsModule> {
  const spec = 'rclnodejs';
  const mod = (await import(spec)) as RclNodejsModule & { default?: RclNodejsModule };
  return mod.default ?? mod;
}

let initialised: Promise<RclNodejsModule> | null = null;
let count = 0;
let ready = false;

async function rclHarness(overrides: ParamOverrides): Promise<ContractHarness> {
  const { RclnodejsPort } = await import('../../ros/rclnodejs-port.ts');
  initialised ??= loadRclnodejs();
  const rcl = await initialised;
  if (!ready) {
    await rcl.init(undefined, ['node', 'contract']);
    ready = true;
  }
  const port = RclnodejsPort.attach(rcl, { overrides });
  // Each harness gets its own namespace so tests never hear each other.
  const ns = `/pamstack_contract_${process.pid}_${count++}`;
  const scoped = {
    kind: port.kind,
    distro: port.distro,
    createNode: (name: string) => port.createNode(name, ns),
    shutdown: () => port.shutdown(),
  };
  const probe = scoped.createNode('probe');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    port: scoped,
    probe,
    settle: async () => void (await sleep(300)), // DDS discovery and delivery
    wait: async (s) => void (await sleep(s * 1000 + 300)),
    close: async () => {
      await port.shutdown();
      ready = false;
    },
  };
}

if (reason) {
  describe('node contract on rclnodejs', () => {
    it.skip(reason, () => {});
  });
} else {
  describe(`node contract on rclnodejs (${distro})`, () => {
    nodeContract(rclHarness);
  });
}
