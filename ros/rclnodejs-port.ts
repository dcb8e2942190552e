// RosPort over rclnodejs, for a robot with ROS 2 sourced. Never imported statically: ros/main.ts loads
// rclnodejs with a dynamic import() and hands the module in, so CI (no ROS) never touches it.
import type { MessageOf, MessageTypeName, QosProfile, RosDistro } from '../src/record/index.ts';
import { ROS_DISTROS } from '../src/record/index.ts';
import {
  resolveParams,
  validateParam,
  type ParamDescriptor,
  type ParamSpec,
  type ParamValues,
  RosTimeoutError,
  type GoalOutcome,
  type RosActionClient,
  type RosNode,
  type RosPort,
  type RosServiceClient,
  type RosPublisher,
  type RosSubscription,
  type RosTimer,
} from './port.ts';
import type { ParamOverrides, ParamSource } from './in-process.ts';
import { nodeFqn, overrideAsDeclared, overridesFor } from './param-files.ts';
import { RCL_PARAM, RMW, type RclNode, type RclNodejsModule, type RclParameter, type RclQoS } from './rclnodejs-api.ts';

/** The ROS 2 distro from ROS_DISTRO; throws naming the supported ones. */
export function distroFromEnv(env: NodeJS.ProcessEnv = process.env): RosDistro {
  const d = env.ROS_DISTRO;
  if (!d || !(ROS_DISTROS as readonly string[]).includes(d))
    throw new Error(`ROS_DISTRO: expected one of ${ROS_DISTROS.join(', ')} (source /opt/ros/<distro>/setup.bash), received ${JSON.stringify(d)}`);
  return d as RosDistro;
}

export interface PortOptions {
  distro?: RosDistro;
  /** Params files and -p rules from the command line, in order. */
  sources?: ParamSource[];
  /** Overrides from code (the contract tests), applied last. */
  overrides?: ParamOverrides;
}

export class RclnodejsPort implements RosPort {
  readonly kind = 'rclnodejs';
  readonly distro: RosDistro;
  #rcl: RclNodejsModule;
  #nodes = new Set<RclnodejsNode>();
  #sources: ParamSource[];

  private constructor(rcl: RclNodejsModule, distro: RosDistro, sources: ParamSource[]) {
    this.#rcl = rcl;
    this.distro = distro;
    this.#sources = sources;
  }

  /**
   * Initialises rclnodejs with `argv` (so launch's `--ros-args -r __node:=… --params-file …` apply)
   * and removes its SIGINT handler: ros/main.ts owns shutdown for SIGINT and SIGTERM.
   */
  static async init(rcl: RclNodejsModule, argv: string[], o: PortOptions = {}): Promise<RclnodejsPort> {
    await rcl.init(undefined, argv);
    return RclnodejsPort.attach(rcl, o);
  }

  /** A port on an rclnodejs that is already initialised (tests re-use one context). */
  static attach(rcl: RclNodejsModule, o: PortOptions = {}): RclnodejsPort {
    rcl.removeSignalHandlers();
    const sources = [...(o.sources ?? []), ...(o.overrides ? [{ name: 'code', params: o.overrides }] : [])];
    return new RclnodejsPort(rcl, o.distro ?? distroFromEnv(), sources);
  }

  /**
   * Overrides are resolved here by the node's fully qualified name (after launch's `__node`/`__ns`
   * remaps), the rclcpp way, and declared with ignoreOverride: rclnodejs's own lookup misses the
   * `/name` keys launch_ros writes and undeclares parameters given as `[]`.
   */
  createNode(name: string, namespace = ''): RosNode {
    const node = new this.#rcl.Node(name, namespace);
    const given: Record<string, unknown> = {};
    for (const [k, o] of overridesFor(this.#sources, nodeFqn(node.name(), node.namespace()))) given[k] = o.value;
    const n = new RclnodejsNode(this.#rcl, node, given);
    this.#nodes.add(n);
    return n;
  }

  async shutdown(): Promise<void> {
    for (const n of this.#nodes) n.destroy();
    this.#nodes.clear();
    if (!this.#rcl.isShutdown()) this.#rcl.shutdown();
  }
}

class RclnodejsNode implements RosNode {
  readonly name: string;
  readonly logger;
  #rcl: RclNodejsModule;
  #node: RclNode;
  #destroyed = false;

  #given: Record<string, unknown>;

  constructor(rcl: RclNodejsModule, node: RclNode, given: Record<string, unknown>) {
    this.#rcl = rcl;
    this.#node = node;
    this.#given = given;
    this.name = node.name();
    const log = node.getLogger();
    this.logger = { info: (m: string) => void log.info(m), warn: (m: string) => void log.warn(m), error: (m: string) => void log.error(m) };
    node.spin();
  }

  now(): number {
    return Number(this.#node.now().nanoseconds) / 1e9;
  }

  #qos(q: QosProfile): RclQoS {
    return new this.#rcl.QoS(
      q.history === 'keep_last' ? RMW.KEEP_LAST : RMW.KEEP_ALL,
      q.depth,
      q.reliability === 'reliable' ? RMW.RELIABLE : RMW.BEST_EFFORT,
      q.durability === 'volatile' ? RMW.VOLATILE : RMW.TRANSIENT_LOCAL,
    );
  }

  createPublisher<T extends MessageTypeName>(type: T, topic: string, qos: QosProfile): RosPublisher<MessageOf<T>> {
    const pub = this.#node.createPublisher(type, topic, { qos: this.#qos(qos) });
    return { topic, publish: (msg) => pub.publish(msg) };
  }

  createSubscription<T extends MessageTypeName>(type: T, topic: string, qos: QosProfile, cb: (msg: MessageOf<T>) => void): RosSubscription {
    // One-argument callback: rclnodejs passes MessageInfo only to callbacks declaring two parameters.
    this.#node.createSubscription(type, topic, { qos: this.#qos(qos), enableTypedArray: true }, (m: MessageOf<T>) => cb(m));
    return { topic };
  }

  createTimer(periodSeconds: number, cb: () => void): RosTimer {
    return this.#node.createTimer(BigInt(Math.max(1, Math.round(periodSeconds * 1e9))), cb);
  }

  createServiceClient<Req = Record<string, unknown>, Res = Record<string, unknown>>(type: string, name: string): RosServiceClient<Req, Res> {
    const client = this.#node.createClient(type, name);
    return {
      name,
      call: async (req, timeoutS) => {
        const ms = Math.round(timeoutS * 1000);
        if (!(await client.waitForService(ms))) throw new RosTimeoutError(`service ${name} (${type}) is not available`, timeoutS);
        try {
          return (await client.sendRequestAsync(req, { timeout: ms })) as Res;
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') throw new RosTimeoutError(`service ${name}`, timeoutS);
          throw e;
        }
      },
    };
  }

  /** rclnodejs's ActionClient (lib/action/client.js): sendGoal → ClientGoalHandle with getResult/cancelGoal. */
  createActionClient<Goal = Record<string, unknown>, Res = Record<string, unknown>, Fb = Record<string, unknown>>(type: string, name: string): RosActionClient<Goal, Res, Fb> {
    const client = new this.#rcl.ActionClient(this.#node, type, name);
    return {
      name,
      sendGoal: async (goal, onFeedback, timeoutS) => {
        if (!(await client.waitForServer(Math.round(timeoutS * 1000)))) throw new RosTimeoutError(`action ${name} (${type}) is not available`, timeoutS);
        const h = await client.sendGoal(goal, onFeedback ? (f: Fb) => onFeedback(f) : undefined);
        const accepted = h.isAccepted();
        return {
          accepted,
          result: async () => {
            if (!accepted) throw new Error(`action ${name}: the goal was rejected`);
            const result = (await h.getResult()) as Res;
            const status: GoalOutcome | null = h.isSucceeded() ? 'succeeded' : h.isAborted() ? 'aborted' : h.isCanceled() ? 'canceled' : null;
            if (!status) throw new Error(`action ${name}: goal ended without a final status`);
            return { status, result };
          },
          cancel: async () => Number(((await h.cancelGoal()) as { return_code?: number }).return_code ?? -1) === 0,
        };
      },
    };
  }

  declareParameters<S extends ParamSpec>(spec: S, onChange?: (values: ParamValues<S>) => void): ParamValues<S> {
    const raw: Record<string, unknown> = {};
    for (const [name, d] of Object.entries(spec)) {
      const initial = name in this.#given ? validateParam(this.name, name, d, overrideAsDeclared(this.name, name, d, this.#given[name])) : d.default;
      const p = this.#node.declareParameter(new this.#rcl.Parameter(name, rclType(d), toRcl(d, initial)), this.#descriptor(name, d), true);
      raw[name] = this.#node.getParameter(name).value ?? p.value;
    }
    let values = resolveParams(this.name, spec, raw);
    this.#node.addOnSetParametersCallback((params: RclParameter[]) => {
      try {
        const next: Record<string, unknown> = { ...values };
        for (const p of params) {
          const d = spec[p.name];
          if (!d) continue;
          if (d.readOnly) return { successful: false, reason: `parameter ${p.name} is read-only` };
          next[p.name] = validateParam(this.name, p.name, d, p.value);
        }
        const resolved = resolveParams(this.name, spec, next);
        onChange?.(resolved);
        values = resolved;
        return { successful: true, reason: '' };
      } catch (e) {
        return { successful: false, reason: (e as Error).message };
      }
    });
    return values;
  }

  #descriptor(name: string, d: ParamDescriptor) {
    let range;
    if (d.range && d.type === 'double') range = new this.#rcl.FloatingPointRange(d.range.from, d.range.to, d.range.step ?? 0);
    if (d.range && d.type === 'integer') range = new this.#rcl.IntegerRange(BigInt(d.range.from), BigInt(d.range.to), BigInt(d.range.step ?? 1));
    return new this.#rcl.ParameterDescriptor(name, rclType(d), d.description, d.readOnly ?? false, range);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#node.destroy();
  }
}

function rclType(d: ParamDescriptor): number {
  switch (d.type) {
    case 'bool':
      return RCL_PARAM.BOOL;
    case 'integer':
      return RCL_PARAM.INTEGER;
    case 'double':
      return RCL_PARAM.DOUBLE;
    case 'string':
      return RCL_PARAM.STRING;
    case 'double_array':
      return RCL_PARAM.DOUBLE_ARRAY;
    case 'string_array':
      return RCL_PARAM.STRING_ARRAY;
  }
}

/** INTEGER parameters are bigint in rclnodejs. */
function toRcl(d: ParamDescriptor, v: unknown): unknown {
  if (d.type === 'integer') return BigInt(v as number);
  if (d.type === 'double_array' || d.type === 'string_array') return [...(v as unknown[])];
  return v;
}
