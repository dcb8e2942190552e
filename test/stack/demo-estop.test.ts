// The main job's e-stop: latching it aborts the primitive in progress (policy and teleop steps alike), the
// loop waits while latched, and a stop or SIGTERM ends the job within 2 s even while latched.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeLiveFrame, LIVE_FRAME_TYPE, MOTION_FRAME_TYPE } from '../../src/core/protocol.ts';
import { runDemo } from '../../src/stack/demo.ts';
import { connect, tempDir, type TestClient } from '../server/_helpers.ts';
import { until } from '../web/_browser.ts';

const BIN = fileURLToPath(new URL('../../bin/pamstack.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const linkOf = (lines: string[]) => lines.map((l) => /web app: (\S+)/.exec(l)?.[1]).find(Boolean);
/** Index in c.received of the first live cloud frame published for a teleop step, or -1. */
const teleopFrameAt = (c: TestClient) =>
  c.received.findIndex((m) => Buffer.isBuffer(m) && m[0] === LIVE_FRAME_TYPE && decodeLiveFrame(new Uint8Array(m).buffer).meta.source === 'teleop');
const motionFrames = (c: TestClient) => c.received.filter((m) => Buffer.isBuffer(m) && m[0] === MOTION_FRAME_TYPE).length;

/** Connects to the demo's server with the token of its link and subscribes to the live view (so motion is paced). */
async function watch(link: string): Promise<TestClient> {
  const url = new URL(link);
  const token = /token=([^&]+)/.exec(url.hash)![1]!;
  const c = await connect(`${url.origin}/`, token);
  await c.request({ op: 'live', subscribe: true });
  return c;
}

/** Resolves 'done' when `p` settles within `ms`, else 'late'. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => 'done'), sleep(ms).then(() => 'late')]);

describe('demo e-stop', () => {
  it('aborts the running policy primitive at once, holds the loop while latched, and a stop while latched ends the job', async () => {
    const tmp = tempDir();
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const demo = runDemo({
      task: 'rope-circle', policy: 'expert', overrides: { select: 'first' }, episodes: 0, seed: 3, headless: false, port: 0,
      host: '127.0.0.1', db: `${tmp.dir}/demo.db`, stepDelayMs: 0, motionSpeed: 1, log: (l) => lines.push(l), stop: stopped,
    });
    try {
      const c = await watch(await until(() => linkOf(lines), 120_000, 'the web app link'));
      // A primitive is running when motion frames arrive (the sim runs at real time while watched).
      await until(() => motionFrames(c) >= 3, 60_000, 'motion frames');
      const executed = () => lines.filter((l) => /step \d+: executed/.test(l)).length;
      const before = executed();
      expect(await c.request({ op: 'estop', engaged: true })).toMatchObject({ estop: true });
      const abortLine = await until(() => lines.find((l) => /step \d+: ABORTED by the e-stop/.test(l)), 10_000, 'the aborted step');
      // The primitive in progress did not run on to its end, and nothing runs while latched.
      expect(executed()).toBe(before);
      expect(lines.some((l) => /e-stop LATCHED/.test(l))).toBe(true);
      const after = lines.length;
      const framesAfter = motionFrames(c);
      await sleep(1500);
      expect(lines.slice(after).filter((l) => /step \d+:/.test(l))).toEqual([]);
      expect(motionFrames(c)).toBe(framesAfter);
      expect(abortLine).toMatch(/the arm stopped where it was/);
      stop();
      expect(await within(demo, 2000)).toBe('done');
      c.close();
    } finally {
      stop();
      await demo.catch(() => {});
      tmp.cleanup();
    }
  });

  it('aborts a running teleop primitive and reports it to the operator as aborted', async () => {
    const tmp = tempDir();
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const demo = runDemo({
      task: 'rope-circle', policy: 'expert', overrides: { select: 'first' }, episodes: 0, seed: 3, headless: false, port: 0,
      host: '127.0.0.1', db: `${tmp.dir}/demo.db`, stepDelayMs: 0, motionSpeed: 1, log: (l) => lines.push(l), stop: stopped,
    });
    try {
      const c = await watch(await until(() => linkOf(lines), 120_000, 'the web app link'));
      const st = c.received.find((m) => !Buffer.isBuffer(m) && m.op === 'teleop.state') as { workspace: { min: number[] } } | undefined;
      expect(st?.workspace.min).toHaveLength(3);
      // A pick-and-place inside the workspace (queued; it runs as the loop's next step).
      const reply = c.request({ op: 'teleop.execute', clientId: 'demo-estop-teleop-1', primitive: { kind: 'pick_place', a: [0.05, 0.05, 0.006], b: [-0.1, 0.08, 0.006] } }, 60_000);
      // The loop takes the queued command as its next step: its cloud frame, then its motion.
      const at = await until(() => (teleopFrameAt(c) >= 0 ? teleopFrameAt(c) + 1 : 0), 60_000, 'the teleop step');
      await until(() => c.received.slice(at).filter((m) => Buffer.isBuffer(m) && m[0] === MOTION_FRAME_TYPE).length >= 3, 60_000, 'the teleop motion');
      await c.request({ op: 'estop', engaged: true });
      expect(await reply).toMatchObject({ op: 'teleop.result', aborted: true });
      await until(() => lines.some((l) => /ABORTED by the e-stop/.test(l)), 10_000, 'the aborted step');
      stop();
      expect(await within(demo, 2000)).toBe('done');
      c.close();
    } finally {
      stop();
      await demo.catch(() => {});
      tmp.cleanup();
    }
  });

  it('SIGTERM ends `pamstack demo` within 2 s while the e-stop is latched', async () => {
    const tmp = tempDir();
    const child = spawn(process.execPath, [BIN, 'demo', '--task', 'rope-circle', '--policy', 'expert', '--select', 'first', '--port', '0', '--db', `${tmp.dir}/d.db`, '--step-delay', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const lines: string[] = [];
    let buf = '';
    child.stderr!.on('data', (d) => {
      buf += String(d);
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const c = await watch(await until(() => linkOf(lines), 120_000, 'the web app link'));
      await c.request({ op: 'estop', engaged: true });
      await until(() => lines.some((l) => /e-stop LATCHED/.test(l)), 10_000, 'the latch');
      child.kill('SIGTERM');
      expect(await within(exited, 2000)).toBe('done');
      c.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      tmp.cleanup();
    }
  });
});
