// In-process RosPort for CI and the sim launch without ROS: a topic graph where every message is
// serialized to CDR with the distro's real definitions and deserialized for each subscriber, with
// ROS's QoS matching, KEEP_LAST queues and TRANSIENT_LOCAL replay. Timers run on an injected clock.
import { QOS, qosMismatch, RosMessageCodec, type MessageOf, type MessageTypeName, type QosProfile, type RosDistro } from '../src/record/index.ts';
import {
  resolveParams,
  type ParamSpec,
  type ParamValues,
  type RosLogger,
  type RosNode,
  type RosPort,
  type RosPublisher,
  type RosSubscription,
  type RosTimer,
} from './port.ts';
import { ServiceBus, type GoalContext } from './in-process-actions.ts';
import type { Clock, GoalOutcome, RosActionClient, RosServiceClient } from './port.ts';
import { nodeFqn, overrideAsDeclared, overridesFor, parseRclParamsYaml, type RclParams } from './param-files.ts';

export type { Clock };

/** The wall clock (Date.now) with setInterval timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now() / 1000;
  }
  every(periodSeconds: number, cb: () => void): { cancel(): void } {
    const h = setInterval(cb, Math.max(1, periodSeconds * 1000));
    return { cancel: () => clearInterval(h) };
  }
}

/** A clock that only moves when told (`advance`), firing due timers in time order. */
export class ManualClock implements Clock {
  #t: number;
  #timers = new Set<{ period: number; next: number; cb: () => void }>();
  constructor(start = 1_700_000_000) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  every(periodSeconds: number, cb: () => void): { cancel(): void } {
    const t = { period: periodSeconds, next: this.#t + periodSeconds, cb };
    this.#timers.add(t);
    return { cancel: () => this.#timers.delete(t) };
  }
  /** Moves time forward by `dt` seconds, firing each timer as its time comes. */
  advance(dt: number): void {
    const end = this.#t + dt;
    for (;;) {
      let due: { period: number; next: number; cb: () => void } | null = null;
      for (const t of this.#timers) if (t.next <= end + 1e-12 && (!due || t.next < due.next)) due = t;
      if (!due) break;
      this.#t = due.next;
      due.next += due.period;
      due.cb();
    }
    this.#t = end;
  }
}

interface Endpoint {
  node: string;
  type: string;
  qos: QosProfile;
}
interface Sub extends Endpoint {
  topic: string;
  queue: Uint8Array[];
  cb: (msg: never) => void;
  alive: boolean;
}
interface Pub extends Endpoint {
  history: Uint8Array[];
  alive: boolean;
}

/** Something seen on the wire: for recording a run (the in-process `ros2 bag record`). */
export interface WireMessage {
  topic: string;
  type: string;
  qos: QosProfile;
  bytes: Uint8Array;
  /** Seconds, the publisher's clock. */
  time: number;
}

/** A topic graph shared by the nodes of one or more InProcessPorts. */
export class InProcessGraph {
  readonly codec: RosMessageCodec;
  readonly clock: Clock;
  /** Services and actions (CDR too). */
  readonly services: ServiceBus;
  #pubs = new Map<string, Pub[]>();
  #subs = new Map<string, Sub[]>();
  #pending = new Set<Sub>();
  #scheduled = false;
  #taps = new Set<(m: WireMessage) => void>();
  /** Errors thrown by subscription callbacks (a node bug); tests assert this stays empty. */
  readonly callbackErrors: { topic: string; node: string; error: unknown }[] = [];

  constructor(o: { distro?: RosDistro; clock?: Clock } = {}) {
    this.codec = RosMessageCodec.for(o.distro ?? 'jazzy');
    this.clock = o.clock ?? new SystemClock();
    this.services = new ServiceBus(this.codec, this.clock);
  }

  /** Calls `fn` with every message published (bytes are the CDR on the wire). */
  tap(fn: (m: WireMessage) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  addPublisher(topic: string, e: Endpoint): Pub {
    this.#checkType(topic, e);
    const p: Pub = { ...e, history: [], alive: true };
    list(this.#pubs, topic).push(p);
    return p;
  }

  addSubscription(topic: string, e: Endpoint, cb: (msg: never) => void): Sub {
    this.#checkType(topic, e);
    const s: Sub = { ...e, topic, cb, queue: [], alive: true };
    list(this.#subs, topic).push(s);
    // TRANSIENT_LOCAL: a late subscriber gets what matching latched publishers kept.
    if (e.qos.durability === 'transient_local')
      for (const p of this.#pubs.get(topic) ?? []) if (p.alive && !qosMismatch(p.qos, e.qos)) for (const b of p.history) this.#enqueue(s, b);
    return s;
  }

  publish(topic: string, pub: Pub, msg: unknown): void {
    if (!pub.alive) throw new Error(`${pub.node}: publisher on ${topic} was destroyed`);
    const bytes = this.codec.serialize(pub.type, msg);
    if (pub.qos.durability === 'transient_local') {
      pub.history.push(bytes);
      if (pub.history.length > pub.qos.depth) pub.history.shift();
    }
    for (const fn of this.#taps) fn({ topic, type: pub.type, qos: pub.qos, bytes, time: this.clock.now() });
    for (const s of this.#subs.get(topic) ?? []) if (s.alive && !qosMismatch(pub.qos, s.qos)) this.#enqueue(s, bytes);
  }

  /** Resolves once every queued message has been delivered (and callbacks' follow-ups too). */
  async idle(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      await new Promise((r) => setImmediate(r));
      if (this.#pending.size === 0 && !this.#scheduled) {
        await new Promise((r) => setImmediate(r));
        if (this.#pending.size === 0 && !this.#scheduled) return;
      }
    }
    throw new Error('in-process graph did not go idle (a node keeps publishing in response to itself?)');
  }

  #checkType(topic: string, e: Endpoint): void {
    const others = [...(this.#pubs.get(topic) ?? []), ...(this.#subs.get(topic) ?? [])].filter((x) => x.type !== e.type);
    if (others.length)
      throw new Error(`${e.node}: topic ${topic} has type ${others[0]!.type} (${others[0]!.node}), not ${e.type}`);
    this.codec.definitions(e.type); // fails now if the distro lacks the type
  }

  #enqueue(s: Sub, bytes: Uint8Array): void {
    s.queue.push(bytes);
    if (s.qos.history === 'keep_last' && s.queue.length > s.qos.depth) s.queue.shift();
    this.#pending.add(s);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#deliver());
    }
  }

  /** Like an executor's spin: each pending subscription takes its queue, one callback per message. */
  #deliver(): void {
    this.#scheduled = false;
    const subs = [...this.#pending];
    this.#pending.clear();
    for (const s of subs) {
      const q = s.queue;
      s.queue = [];
      for (const bytes of q) {
        if (!s.alive) break;
        const msg = this.codec.deserialize(s.type, bytes);
        try {
          s.cb(msg as never);
        } catch (error) {
          this.callbackErrors.push({ topic: s.topic, node: s.node, error });
        }
      }
    }
  }
}

function list<T>(m: Map<string, T[]>, k: string): T[] {
  let l = m.get(k);
  if (!l) m.set(k, (l = []));
  return l;
}

/**
 * Parameter overrides keyed as a params file writes them (`/**`, `/perception`, `perception`,
 * `/ns/*`): values are RclValues (from a file) or plain JS values (from code and tests).
 */
export type ParamOverrides = Record<string, Record<string, unknown>>;

/** A named source of overrides (a params file, a `-p` rule, or code), applied in order. */
export interface ParamSource {
  name: string;
  params: RclParams | ParamOverrides;
}

/** Reads a ROS 2 parameters YAML with rcl's typing (see param-files.ts); node keys stay as written. */
export function parseParamsYaml(text: string, file = 'params'): ParamOverrides {
  const out: ParamOverrides = {};
  for (const [node, vals] of parseRclParamsYaml(text, file)) out[node] = Object.fromEntries(vals);
  return out;
}

/** A RosPort on an InProcessGraph. */
export class InProcessPort implements RosPort {
  readonly kind = 'in-process';
  readonly graph: InProcessGraph;
  get distro(): RosDistro {
    return this.graph.codec.distro;
  }
  #sources: ParamSource[];
  #nodes = new Set<InProcessNode>();
  /** Log lines (`[LEVEL] [node]: message`), also passed to `sink` when given (e.g. stderr). */
  readonly log: string[] = [];
  readonly sink: ((line: string) => void) | null;

  /** `overrides`: one set keyed by node (bare names match as rclcpp's leading '/' rule makes them) or params sources in order. */
  constructor(graph = new InProcessGraph(), overrides: ParamOverrides | ParamSource[] = {}, sink: ((line: string) => void) | null = null) {
    this.graph = graph;
    this.#sources = Array.isArray(overrides) ? overrides : [{ name: 'overrides', params: overrides }];
    this.sink = sink;
  }

  createNode(name: string, namespace = ''): InProcessNode {
    const resolved = overridesFor(this.#sources, nodeFqn(name, namespace));
    const own: Record<string, unknown> = {};
    const wild: Record<string, unknown> = {};
    for (const [k, o] of resolved) (o.wildcard ? wild : own)[k] = o.value;
    const n = new InProcessNode(this, name, namespace, own, wild);
    this.#nodes.add(n);
    return n;
  }

  /** Sets parameters on a live node as `ros2 param set` would; returns the refusal reason or null. */
  /** A live node by name (tests read its parameters). */
  node(name: string): InProcessNode | undefined {
    return [...this.#nodes].find((x) => x.name === name);
  }

  setParameters(node: string, values: Record<string, unknown>): string | null {
    const n = [...this.#nodes].find((x) => x.name === node);
    if (!n) return `no node ${node}`;
    return n.setParameters(values);
  }

  async shutdown(): Promise<void> {
    for (const n of this.#nodes) n.destroy();
    this.#nodes.clear();
  }
}

export class InProcessNode implements RosNode {
  readonly name: string;
  readonly namespace: string;
  readonly logger: RosLogger;
  #port: InProcessPort;
  #given: Record<string, unknown>;
  #wild: Record<string, unknown>;
  #pubs: { alive: boolean }[] = [];
  #subs: { alive: boolean }[] = [];
  #timers: RosTimer[] = [];
  #stops: (() => void)[] = [];
  #params: { spec: ParamSpec; values: Record<string, unknown>; onChange?: (v: never) => void } | null = null;

  /** `given`: this node's overrides (an undeclared name is an error); `wild`: `/**` ones (applied where declared). */
  constructor(port: InProcessPort, name: string, namespace: string, given: Record<string, unknown>, wild: Record<string, unknown> = {}) {
    this.#port = port;
    this.name = name;
    this.namespace = namespace.replace(/\/+$/, '');
    this.#given = given;
    this.#wild = wild;
    const line = (lvl: string) => (msg: string) => {
      const text = `[${lvl}] [${name}]: ${msg}`;
      port.log.push(text);
      port.sink?.(text);
    };
    this.logger = { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
  }

  now(): number {
    return this.#port.graph.clock.now();
  }

  /** Relative names resolve under the namespace; absolute ones are kept. */
  resolve(topic: string): string {
    if (topic.startsWith('/')) return topic;
    return `${this.namespace}/${topic}`.replace(/^(?!\/)/, '/');
  }

  createPublisher<T extends MessageTypeName>(type: T, topic: string, qos: QosProfile): RosPublisher<MessageOf<T>> {
    const full = this.resolve(topic);
    const p = this.#port.graph.addPublisher(full, { node: this.name, type, qos });
    this.#pubs.push(p);
    const graph = this.#port.graph;
    return { topic: full, publish: (msg) => graph.publish(full, p, msg) };
  }

  createSubscription<T extends MessageTypeName>(
    type: T,
    topic: string,
    qos: QosProfile,
    cb: (msg: MessageOf<T>) => void,
  ): RosSubscription {
    const full = this.resolve(topic);
    const s = this.#port.graph.addSubscription(full, { node: this.name, type, qos }, cb as (m: never) => void);
    this.#subs.push(s);
    return { topic: full };
  }

  createTimer(periodSeconds: number, cb: () => void): RosTimer {
    if (!(periodSeconds > 0)) throw new Error(`${this.name}: timer period must be > 0 s, received ${periodSeconds}`);
    const t = this.#port.graph.clock.every(periodSeconds, cb);
    this.#timers.push(t);
    return t;
  }

  createServiceClient<Req = Record<string, unknown>, Res = Record<string, unknown>>(type: string, name: string): RosServiceClient<Req, Res> {
    return this.#port.graph.services.serviceClient<Req, Res>(type, this.resolve(name));
  }

  createActionClient<Goal = Record<string, unknown>, Res = Record<string, unknown>, Fb = Record<string, unknown>>(type: string, name: string): RosActionClient<Goal, Res, Fb> {
    const full = this.resolve(name);
    const graph = this.#port.graph;
    return graph.services.actionClient<Goal, Res, Fb>(type, full, (t, cb) => {
      const s = graph.addSubscription(`${full}/_action/feedback`, { node: this.name, type: t.feedbackMessage, qos: QOS.default }, cb as (m: never) => void);
      this.#subs.push(s);
    });
  }

  /** A service server (the fakes of MoveIt and ros2_control in tests use it). */
  createService(type: string, name: string, handler: (req: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>): () => void {
    const stop = this.#port.graph.services.serve(type, this.resolve(name), handler);
    this.#stops.push(stop);
    return stop;
  }

  /** An action server (rcl_action layout); see ServiceBus.actionServer. */
  createActionServer(
    type: string,
    name: string,
    o: {
      accept?: (goal: Record<string, unknown>) => boolean;
      acceptCancel?: (goal: Record<string, unknown>) => boolean;
      execute: (goal: Record<string, unknown>, ctx: GoalContext) => Promise<{ status: GoalOutcome; result: Record<string, unknown> }>;
    },
  ): () => void {
    const full = this.resolve(name);
    const graph = this.#port.graph;
    let fb: ReturnType<InProcessGraph['addPublisher']> | null = null;
    const stop = graph.services.actionServer(type, full, {
      ...o,
      publishFeedback: (m) => {
        const t = `${type}_FeedbackMessage`;
        fb ??= graph.addPublisher(`${full}/_action/feedback`, { node: this.name, type: t, qos: QOS.default });
        graph.publish(`${full}/_action/feedback`, fb, graph.codec.create(t, m as never));
      },
    });
    this.#stops.push(stop);
    return stop;
  }

  declareParameters<S extends ParamSpec>(spec: S, onChange?: (values: ParamValues<S>) => void): ParamValues<S> {
    if (this.#params) throw new Error(`${this.name}: parameters were already declared`);
    const given: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ ...this.#wild, ...this.#given })) {
      const d = spec[k];
      if (d) given[k] = overrideAsDeclared(this.name, k, d, v);
      else if (k in this.#given) given[k] = v; // a node's own undeclared name: resolveParams names it
    }
    const values = resolveParams(this.name, spec, given);
    this.#params = { spec, values, onChange: onChange as ((v: never) => void) | undefined };
    return values;
  }

  /** The current values of the declared parameters (as `ros2 param dump` would list them). */
  parameters(): Record<string, unknown> {
    return { ...(this.#params?.values ?? {}) };
  }

  setParameters(values: Record<string, unknown>): string | null {
    if (!this.#params) return `${this.name} declares no parameters`;
    for (const k of Object.keys(values))
      if (this.#params.spec[k]?.readOnly) return `${this.name}: parameter ${k} is read-only`;
    try {
      const next = resolveParams(this.name, this.#params.spec, { ...this.#params.values, ...values });
      this.#params.onChange?.(next as never); // may refuse a combination (throws)
      this.#params.values = next;
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  destroy(): void {
    for (const p of this.#pubs) p.alive = false;
    for (const s of this.#subs) s.alive = false;
    for (const t of this.#timers) t.cancel();
    this.#timers = [];
    for (const stop of this.#stops) stop();
    this.#stops = [];
  }
}
