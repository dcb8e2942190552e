import { describe } from 'vitest';
import { InProcessGraph, InProcessPort, ManualClock, type ParamOverrides } from '../../ros/in-process.ts';
import { nodeContract, type ContractHarness } from './contract.ts';

/** The in-process harness: a manual clock, so deadman and stale-perception timing is exact. */
async function inProcess(overrides: ParamOverrides): Promise<ContractHarness> {
  const clock = new ManualClock();
  const graph = new InProcessGraph({ distro: 'jazzy', clock });
  const port = new InProcessPort(graph, overrides);
  const probe = port.createNode('probe');
  const settle = async () => {
    await graph.idle();
    if (graph.callbackErrors.length) throw graph.callbackErrors[0]!.error;
  };
  return {
    port,
    probe,
    settle,
    async wait(s) {
      // Advance in small steps so timers interleave with deliveries, as they would in real time.
      for (let t = 0; t < s - 1e-9; t += 0.05) {
        clock.advance(Math.min(0.05, s - t));
        await settle();
      }
    },
    close: () => port.shutdown(),
  };
}

describe('node contract on the in-process port (real CDR, jazzy definitions)', () => {
  nodeContract(inProcess);
});
