// Services and actions on the in-process graph, with every request, response, goal, feedback and
// result serialized to CDR with the distro's real definitions (ros/interfaces.ts). Actions follow
// rcl_action's layout (ros2/rcl rcl_action/src/rcl_action/names.c): services
// `<name>/_action/send_goal`, `<name>/_action/get_result`, `<name>/_action/cancel_goal` and topics
// `<name>/_action/feedback`, `<name>/_action/status`; get_result is answered when the goal ends.
import { randomBytes } from 'node:crypto';
import { CANCEL_RETURN, GOAL_STATUS, registerAction, registerService, type ActionTypes } from './interfaces.ts';
import { RosTimeoutError, type Clock, type GoalOutcome, type RosActionClient, type RosGoalHandle, type RosServiceClient } from './port.ts';
import type { RosMessageCodec } from '../src/record/index.ts';

type Msg = Record<string, unknown>;
type Handler = (req: Msg) => Msg | Promise<Msg>;

interface ServiceEntry {
  type: string;
  request: string;
  response: string;
  handler: Handler;
  alive: boolean;
}

/** Seconds → a one-shot timer on the graph's clock (a ManualClock fires it when advanced). */
function after(clock: Clock, seconds: number, cb: () => void): () => void {
  if (!Number.isFinite(seconds)) return () => {};
  let done = false;
  const t = clock.every(seconds, () => {
    if (done) return;
    done = true;
    t.cancel();
    cb();
  });
  return () => {
    done = true;
    t.cancel();
  };
}

/** The services of one graph, and the actions built on them. */
export class ServiceBus {
  readonly codec: RosMessageCodec;
  readonly clock: Clock;
  #services = new Map<string, ServiceEntry>();
  #waiters = new Set<() => void>();
  /** Every call (name, request type), for tests that assert what crossed. */
  readonly calls: { service: string; bytes: number }[] = [];

  constructor(codec: RosMessageCodec, clock: Clock) {
    this.codec = codec;
    this.clock = clock;
  }

  /** Serves `type` (`pkg/srv/Name`) on `name`; returns a function that removes the server. */
  serve(type: string, name: string, handler: Handler): () => void {
    const t = registerService(this.codec.distro, type);
    return this.#serve(type, name, t.request, t.response, handler);
  }

  #serve(type: string, name: string, request: string, response: string, handler: Handler): () => void {
    if (this.#services.get(name)?.alive) throw new Error(`service ${name} already has a server`);
    const e: ServiceEntry = { type, request, response, handler, alive: true };
    this.#services.set(name, e);
    for (const w of [...this.#waiters]) w();
    return () => {
      e.alive = false;
      if (this.#services.get(name) === e) this.#services.delete(name);
    };
  }

  /** One call: waits for a server of the same type (DDS does not match other types), then for the answer. */
  async call(type: string, name: string, request: string, response: string, req: Msg, timeoutS: number): Promise<Msg> {
    const bytes = this.codec.serialize(request, this.codec.create(request, req as never));
    this.calls.push({ service: name, bytes: bytes.length });
    const server = await this.#waitFor(name, type, timeoutS);
    return new Promise<Msg>((resolve, reject) => {
      const stop = after(this.clock, timeoutS, () => reject(new RosTimeoutError(`service ${name}`, timeoutS)));
      setImmediate(() => {
        Promise.resolve()
          .then(() => server.handler(this.codec.deserialize(request, bytes) as Msg))
          .then((res) => {
            const out = this.codec.serialize(response, this.codec.create(response, res as never));
            stop();
            resolve(this.codec.deserialize(response, out) as Msg);
          })
          .catch((e: unknown) => {
            stop();
            reject(e instanceof Error ? e : new Error(String(e)));
          });
      });
    });
  }

  #waitFor(name: string, type: string, timeoutS: number): Promise<ServiceEntry> {
    const now = this.#services.get(name);
    if (now?.alive && now.type === type) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const s = this.#services.get(name);
        if (s?.alive && s.type === type) {
          this.#waiters.delete(check);
          stop();
          resolve(s);
        }
      };
      const stop = after(this.clock, timeoutS, () => {
        this.#waiters.delete(check);
        reject(new RosTimeoutError(`service ${name} (${type}) is not available`, timeoutS));
      });
      this.#waiters.add(check);
    });
  }

  serviceClient<Req, Res>(type: string, name: string): RosServiceClient<Req, Res> {
    const t = registerService(this.codec.distro, type);
    return {
      name,
      call: async (req, timeoutS) => (await this.call(type, name, t.request, t.response, req as Msg, timeoutS)) as Res,
    };
  }

  /**
   * An action server. `accept` answers the goal request, `execute` runs an accepted goal until it
   * returns its outcome; `cancelRequested()` turns true once a cancel was accepted.
   */
  actionServer(
    type: string,
    name: string,
    o: {
      accept?: (goal: Msg) => boolean;
      acceptCancel?: (goal: Msg) => boolean;
      execute: (goal: Msg, ctx: GoalContext) => Promise<{ status: GoalOutcome; result: Msg }>;
      publishFeedback: (msg: Msg) => void;
    },
  ): () => void {
    const t = registerAction(this.codec.distro, type);
    const goals = new Map<string, { goal: Msg; status: number; done: Promise<{ status: number; result: Msg }>; cancel: () => void }>();
    const stops = [
      this.#serve(`${type}_SendGoal`, `${name}/_action/send_goal`, t.sendGoal.request, t.sendGoal.response, (req) => {
        const id = uuidKey(req.goal_id);
        const goal = req.goal as Msg;
        if (!(o.accept?.(goal) ?? true)) return { accepted: false };
        let cancelled = false;
        const cancelCbs: (() => void)[] = [];
        const entry = {
          goal,
          status: GOAL_STATUS.ACCEPTED as number,
          done: null as unknown as Promise<{ status: number; result: Msg }>,
          cancel: () => {
            cancelled = true;
            entry.status = GOAL_STATUS.CANCELING;
            for (const cb of cancelCbs) cb();
          },
        };
        const ctx: GoalContext = {
          feedback: (f) => o.publishFeedback({ goal_id: req.goal_id, feedback: f }),
          cancelRequested: () => cancelled,
          onCancel: (cb) => void cancelCbs.push(cb),
        };
        entry.done = new Promise<void>((r) => setImmediate(r)).then(async () => {
          entry.status = GOAL_STATUS.EXECUTING;
          const out = await o.execute(goal, ctx);
          entry.status = out.status === 'succeeded' ? GOAL_STATUS.SUCCEEDED : out.status === 'aborted' ? GOAL_STATUS.ABORTED : GOAL_STATUS.CANCELED;
          return { status: entry.status, result: out.result };
        });
        goals.set(id, entry);
        return { accepted: true, stamp: { sec: Math.floor(this.clock.now()), nanosec: 0 } };
      }),
      this.#serve(`${type}_GetResult`, `${name}/_action/get_result`, t.getResult.request, t.getResult.response, async (req) => {
        const g = goals.get(uuidKey(req.goal_id));
        if (!g) return { status: GOAL_STATUS.UNKNOWN };
        return g.done;
      }),
      this.#serve('action_msgs/srv/CancelGoal', `${name}/_action/cancel_goal`, 'action_msgs/srv/CancelGoal_Request', 'action_msgs/srv/CancelGoal_Response', (req) => {
        const info = req.goal_info as { goal_id: { uuid: Uint8Array } };
        const g = goals.get(uuidKey(info.goal_id));
        if (!g) return { return_code: CANCEL_RETURN.ERROR_UNKNOWN_GOAL_ID };
        if (g.status >= GOAL_STATUS.SUCCEEDED) return { return_code: CANCEL_RETURN.ERROR_GOAL_TERMINATED };
        if (!(o.acceptCancel?.(g.goal) ?? true)) return { return_code: CANCEL_RETURN.ERROR_REJECTED };
        g.cancel();
        return { return_code: CANCEL_RETURN.ERROR_NONE, goals_canceling: [info] };
      }),
    ];
    registerService(this.codec.distro, 'action_msgs/srv/CancelGoal');
    return () => stops.forEach((s) => s());
  }

  /** An action client over this bus; `subscribeFeedback` hooks the feedback topic. */
  actionClient<Goal, Res, Fb>(type: string, name: string, subscribeFeedback: (types: ActionTypes, cb: (m: Msg) => void) => void): RosActionClient<Goal, Res, Fb> {
    const t = registerAction(this.codec.distro, type);
    registerService(this.codec.distro, 'action_msgs/srv/CancelGoal');
    const listeners = new Map<string, (f: Fb) => void>();
    let subscribed = false;
    return {
      name,
      sendGoal: async (goal, onFeedback, timeoutS) => {
        if (!subscribed) {
          subscribed = true;
          subscribeFeedback(t, (m) => listeners.get(uuidKey(m.goal_id))?.(m.feedback as Fb));
        }
        const goalId = { uuid: new Uint8Array(randomBytes(16)) };
        const key = uuidKey(goalId);
        if (onFeedback) listeners.set(key, onFeedback);
        const res = await this.call(`${type}_SendGoal`, `${name}/_action/send_goal`, t.sendGoal.request, t.sendGoal.response, { goal_id: goalId, goal: goal as Msg }, timeoutS);
        const accepted = res.accepted === true;
        const handle: RosGoalHandle<Res> = {
          accepted,
          result: async () => {
            if (!accepted) throw new Error(`action ${name}: the goal was rejected`);
            // get_result waits for the end of the goal: no time limit here (the caller bounds it).
            const r = await this.call(`${type}_GetResult`, `${name}/_action/get_result`, t.getResult.request, t.getResult.response, { goal_id: goalId }, Infinity);
            listeners.delete(key);
            const status = Number(r.status);
            const outcome: GoalOutcome | null = status === GOAL_STATUS.SUCCEEDED ? 'succeeded' : status === GOAL_STATUS.ABORTED ? 'aborted' : status === GOAL_STATUS.CANCELED ? 'canceled' : null;
            if (!outcome) throw new Error(`action ${name}: goal ended with status ${status}`);
            return { status: outcome, result: r.result as Res };
          },
          cancel: async () => {
            const r = await this.call('action_msgs/srv/CancelGoal', `${name}/_action/cancel_goal`, 'action_msgs/srv/CancelGoal_Request', 'action_msgs/srv/CancelGoal_Response', { goal_info: { goal_id: goalId } }, timeoutS);
            return Number(r.return_code) === CANCEL_RETURN.ERROR_NONE;
          },
        };
        return handle;
      },
    };
  }
}

/** What an executing goal can do: send feedback and learn of a cancel. */
export interface GoalContext {
  feedback(f: Msg): void;
  cancelRequested(): boolean;
  onCancel(cb: () => void): void;
}

function uuidKey(id: unknown): string {
  const u = (id as { uuid?: ArrayLike<number> } | undefined)?.uuid;
  return u ? Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('') : '';
}
