// The narrow part of rclnodejs (2.x) that RclnodejsPort uses, declared here so the adapter typechecks
// without rclnodejs installed (it cannot install without ROS 2). test/ros/rclnodejs-types.test.ts
// checks that rclnodejs's own .d.ts is assignable to these declarations. Classes are declared (not
// interfaces) so their constructors and methods compare as rclnodejs's do.
import type { MessageTypeName } from '../src/record/index.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
export declare class RclQoS {
  constructor(history?: number, depth?: number, reliability?: number, durability?: number);
  depth: number;
}

export declare class RclParameter {
  constructor(name: string, type: number, value?: any);
  readonly name: string;
  readonly type: number;
  value: any;
}

export declare abstract class RclRange {
  constructor(from: number, to: number, step?: number);
  readonly fromValue: number;
  readonly toValue: number;
  readonly step: number;
  inRange(value: number): boolean;
  isValidType(parameterType: number): boolean;
}
export declare class RclFloatingPointRange extends RclRange {}
export declare class RclIntegerRange extends RclRange {
  constructor(from: bigint, to: bigint, step?: bigint);
}

export declare class RclParameterDescriptor {
  constructor(name: string, type: number, description?: string, readOnly?: boolean, range?: RclRange);
}

export interface RclSetParametersResult {
  successful: boolean;
  reason: string;
}

export interface RclLogger {
  info(message: string): boolean;
  warn(message: string): boolean;
  error(message: string): boolean;
}

export interface RclTimer {
  cancel(): void;
}

export interface RclClient {
  waitForService(timeout?: number): Promise<boolean>;
  sendRequestAsync(request: any, options?: { timeout?: number }): Promise<any>;
}

export interface RclClientGoalHandle {
  isAccepted(): boolean;
  isSucceeded(): boolean;
  isCanceled(): boolean;
  isAborted(): boolean;
  getResult(): Promise<any>;
  cancelGoal(): Promise<any>;
}

export declare class RclActionClient {
  constructor(node: RclNode, typeClass: any, actionName: string);
  sendGoal(goal: any, feedbackCallback?: (feedback: any) => void): Promise<RclClientGoalHandle>;
  waitForServer(timeout?: number): Promise<boolean>;
  destroy(): void;
}

export declare class RclNode {
  constructor(nodeName: string, namespace?: string);
  name(): string;
  namespace(): string;
  getLogger(): RclLogger;
  now(): { readonly nanoseconds: bigint };
  spin(timeout?: number): void;
  createTimer(period: bigint, callback: () => void): RclTimer;
  createPublisher(typeClass: MessageTypeName, topic: string, options?: { qos?: RclQoS | string }): { publish(message: any): void };
  createSubscription(
    typeClass: MessageTypeName,
    topic: string,
    options: { qos?: RclQoS | string; enableTypedArray?: boolean },
    callback: (message: any) => void,
  ): unknown;
  createClient(typeClass: any, serviceName: string): RclClient;
  declareParameter(parameter: RclParameter, descriptor?: RclParameterDescriptor, ignoreOveride?: boolean): RclParameter;
  getParameter(name: string): RclParameter;
  addOnSetParametersCallback(callback: (parameters: RclParameter[]) => RclSetParametersResult): void;
  destroy(): void;
}

/** The module object `await import('rclnodejs')` gives (its default export or namespace). */
export interface RclNodejsModule {
  init(context?: undefined, argv?: string[]): Promise<void>;
  removeSignalHandlers(): void;
  shutdown(): void;
  isShutdown(): boolean;
  Node: typeof RclNode;
  QoS: typeof RclQoS;
  Parameter: typeof RclParameter;
  ParameterDescriptor: typeof RclParameterDescriptor;
  FloatingPointRange: typeof RclFloatingPointRange;
  IntegerRange: typeof RclIntegerRange;
  ActionClient: typeof RclActionClient;
}

/** rcl ParameterType values (a const enum in rclnodejs's .d.ts, so restated as numbers). */
export const RCL_PARAM = { BOOL: 1, INTEGER: 2, DOUBLE: 3, STRING: 4, DOUBLE_ARRAY: 8, STRING_ARRAY: 9 } as const;
/** rmw QoS policy values. */
export const RMW = { KEEP_LAST: 1, KEEP_ALL: 2, RELIABLE: 1, BEST_EFFORT: 2, TRANSIENT_LOCAL: 1, VOLATILE: 2 } as const;
