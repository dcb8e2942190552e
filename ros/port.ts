// The RosPort seam: the small part of a ROS 2 client library pamstack's nodes use. Two
// implementations: InProcessPort (CI; every message through real CDR) and the rclnodejs adapter
// (robot; loaded only by ros/main.ts with a dynamic import).
import type { MessageOf, MessageTypeName, QosProfile, RosDistro } from '../src/record/index.ts';

export type { QosProfile } from '../src/record/index.ts';
export { QOS } from '../src/record/index.ts';

/** Parameter types used here (ROS's PARAMETER_BOOL, _INTEGER, _DOUBLE, _STRING and their arrays). */
export type ParamType = 'bool' | 'integer' | 'double' | 'string' | 'double_array' | 'string_array';
export interface ParamValueOf {
  bool: boolean;
  integer: number;
  double: number;
  string: string;
  double_array: readonly number[];
  string_array: readonly string[];
}

/**
 * rcl_interfaces/ParameterDescriptor as data: type, description, read-only, and for numbers an
 * inclusive range [from, to] (step 0 = continuous). Array parameters may fix their length.
 */
export interface ParamDescriptor<T extends ParamType = ParamType> {
  type: T;
  description: string;
  default: ParamValueOf[T];
  readOnly?: boolean;
  range?: { readonly from: number; readonly to: number; readonly step?: number };
  /** Arrays: exact length, or [min, max]. */
  length?: number | readonly [number, number];
  /** Strings: allowed values. */
  oneOf?: readonly string[];
}

export type ParamSpec = Record<string, ParamDescriptor>;
export type ParamValues<S extends ParamSpec> = { [K in keyof S]: ParamValueOf[S[K]['type']] };

export interface RosPublisher<T> {
  readonly topic: string;
  publish(msg: T): void;
}

export interface RosSubscription {
  readonly topic: string;
}

export interface RosTimer {
  cancel(): void;
}

export interface RosLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** A service client. Messages are plain objects; fields left out take their ROS defaults. */
export interface RosServiceClient<Req, Res> {
  readonly name: string;
  /**
   * Waits up to `timeoutS` for the server, sends, and waits up to `timeoutS` for the response;
   * rejects with a RosTimeoutError naming the service otherwise.
   */
  call(request: Req, timeoutS: number): Promise<Res>;
}

/** How a goal ended (action_msgs/GoalStatus SUCCEEDED, ABORTED, CANCELED). */
export type GoalOutcome = 'succeeded' | 'aborted' | 'canceled';

export interface RosGoalHandle<Res> {
  /** False when the server rejected the goal (then result() rejects). */
  readonly accepted: boolean;
  /** Resolves when the goal ends. */
  result(): Promise<{ status: GoalOutcome; result: Res }>;
  /** Asks the server to cancel; true when it agreed (action_msgs/srv/CancelGoal ERROR_NONE). */
  cancel(): Promise<boolean>;
}

/** An action client (rcl_action: send_goal / get_result / cancel_goal services, feedback topic). */
export interface RosActionClient<Goal, Res, Fb> {
  readonly name: string;
  /** Waits up to `timeoutS` for the server and for its accept/reject answer. */
  sendGoal(goal: Goal, onFeedback: ((feedback: Fb) => void) | null, timeoutS: number): Promise<RosGoalHandle<Res>>;
}

/** No server, or no answer, within the time allowed. */
export class RosTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly seconds: number,
  ) {
    super(`${what}: no answer within ${seconds} s`);
    this.name = 'RosTimeoutError';
  }
}

/** One ROS node. Times are seconds (ROS time of the node's clock). */
export interface RosNode {
  readonly name: string;
  readonly logger: RosLogger;
  now(): number;
  createPublisher<T extends MessageTypeName>(type: T, topic: string, qos: QosProfile): RosPublisher<MessageOf<T>>;
  /** Callbacks run on the JS main thread and must return quickly (queue long work). */
  createSubscription<T extends MessageTypeName>(
    type: T,
    topic: string,
    qos: QosProfile,
    cb: (msg: MessageOf<T>) => void,
  ): RosSubscription;
  createTimer(periodSeconds: number, cb: () => void): RosTimer;
  /** `type`: `pkg/srv/Name` (e.g. moveit_msgs/srv/GetCartesianPath). */
  createServiceClient<Req = Record<string, unknown>, Res = Record<string, unknown>>(type: string, name: string): RosServiceClient<Req, Res>;
  /** `type`: `pkg/action/Name` (e.g. control_msgs/action/GripperCommand). */
  createActionClient<Goal = Record<string, unknown>, Res = Record<string, unknown>, Fb = Record<string, unknown>>(
    type: string,
    name: string,
  ): RosActionClient<Goal, Res, Fb>;
  /**
   * Declares every parameter with its descriptor (overrides from launch / --params-file applied) and
   * returns the validated values; throws a ParamError naming the first bad one. Later `ros2 param set`
   * calls are validated the same way and refused with the reason.
   */
  declareParameters<S extends ParamSpec>(spec: S, onChange?: (values: ParamValues<S>) => void): ParamValues<S>;
  destroy(): void;
}

/** Creates nodes and shuts the client library down. */
export interface RosPort {
  /** Which implementation: 'in-process' or 'rclnodejs'. */
  readonly kind: string;
  /** The ROS 2 distro whose message definitions apply (ROS_DISTRO on a robot). */
  readonly distro: RosDistro;
  createNode(name: string, namespace?: string): RosNode;
  shutdown(): Promise<void>;
}

/** A parameter refused: names it, the rule and the value received. */
export class ParamError extends Error {
  constructor(
    readonly node: string,
    readonly param: string,
    readonly allowed: string,
    readonly received: unknown,
  ) {
    super(`${node}: parameter ${param}: expected ${allowed}, received ${JSON.stringify(received)}`);
    this.name = 'ParamError';
  }
}

/** Checks one value against its descriptor; returns it normalised (integers as numbers) or throws. */
export function validateParam(node: string, name: string, d: ParamDescriptor, raw: unknown): ParamValueOf[ParamType] {
  const fail = (allowed: string): never => {
    throw new ParamError(node, name, allowed, typeof raw === 'bigint' ? Number(raw) : raw);
  };
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);
  const inRange = (v: number, what: string): number => {
    if (!Number.isFinite(v)) fail(`${what} (finite)`);
    const r = d.range;
    if (r && (v < r.from || v > r.to)) fail(`${what} in [${r.from}, ${r.to}]`);
    if (r?.step && Math.abs((v - r.from) / r.step - Math.round((v - r.from) / r.step)) > 1e-6)
      fail(`${what} in [${r.from}, ${r.to}] in steps of ${r.step}`);
    return v;
  };
  const checkLength = (n: number): void => {
    const L = d.length;
    if (L === undefined) return;
    const [lo, hi] = typeof L === 'number' ? [L, L] : L;
    if (n < lo || n > hi) fail(`${lo === hi ? `exactly ${lo}` : `${lo} to ${hi}`} items`);
  };
  switch (d.type) {
    case 'bool':
      return typeof raw === 'boolean' ? raw : fail('true or false');
    case 'integer': {
      const v = num(raw);
      if (v === null || !Number.isInteger(v)) return fail(`an integer${d.range ? ` in [${d.range.from}, ${d.range.to}]` : ''}`);
      return inRange(v, 'an integer');
    }
    case 'double': {
      const v = num(raw);
      if (v === null) return fail(`a number${d.range ? ` in [${d.range.from}, ${d.range.to}]` : ''}`);
      return inRange(v, 'a number');
    }
    case 'string':
      if (typeof raw !== 'string') return fail('a string');
      if (d.oneOf && !d.oneOf.includes(raw)) return fail(`one of ${d.oneOf.join(', ')}`);
      return raw;
    case 'double_array': {
      if (!Array.isArray(raw) && !ArrayBuffer.isView(raw)) return fail('an array of numbers');
      const arr = Array.from(raw as ArrayLike<unknown>, (x) => num(x));
      if (arr.some((x) => x === null)) return fail('an array of numbers');
      checkLength(arr.length);
      return arr.map((x) => inRange(x!, 'a number'));
    }
    case 'string_array': {
      if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) return fail('an array of strings');
      checkLength(raw.length);
      return [...raw] as string[];
    }
  }
}

/** Validates every value of a spec (defaults where `given` lacks one). */
export function resolveParams<S extends ParamSpec>(node: string, spec: S, given: Record<string, unknown>): ParamValues<S> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given))
    if (!(key in spec)) throw new ParamError(node, key, `a declared parameter (${Object.keys(spec).join(', ')})`, given[key]);
  for (const [name, d] of Object.entries(spec)) out[name] = validateParam(node, name, d, name in given ? given[name] : d.default);
  return out as ParamValues<S>;
}

/** Time source: seconds, and periodic callbacks (the in-process graph's clock; rclnodejs keeps its own). */
export interface Clock {
  now(): number;
  every(periodSeconds: number, cb: () => void): { cancel(): void };
}
