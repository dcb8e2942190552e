// Service and action types for the in-process port: the upstream .msg/.srv/.action files kept as data
// in ros/interfaces/<distro>/ (moveit_msgs, control_msgs, action_msgs' CancelGoal; SOURCES.txt names
// repository and ref of each), plus the bundled @foxglove/rosmsg-msgs-common messages, composed into
// the concatenated schema texts the CDR codec reads and registered with the distro's codec.
// Service and action parts are named and laid out as rosidl generates them
// (ros2/rosidl rosidl_parser/rosidl_parser/definition.py, classes Service and Action):
//   <Srv>_Request / <Srv>_Response;
//   <Act>_Goal / _Result / _Feedback, _SendGoal_Request {UUID goal_id, Goal goal},
//   _SendGoal_Response {bool accepted, Time stamp}, _GetResult_Request {UUID goal_id},
//   _GetResult_Response {int8 status, Result result}, _FeedbackMessage {UUID goal_id, Feedback feedback}.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RosMessageCodec, type RosDistro } from '../src/record/index.ts';

const here = join(dirname(fileURLToPath(import.meta.url)), 'interfaces');
const bundled = join(dirname(createRequire(import.meta.url).resolve('@foxglove/rosmsg-msgs-common/package.json')), 'msgdefs');
const SEPARATOR = '='.repeat(80);
const PRIMITIVES = new Set('bool byte char float32 float64 int8 uint8 int16 uint16 int32 uint32 int64 uint64 string wstring'.split(' '));

/** One message's own text (no dependencies): ours first, then the bundled definitions' first section. */
function ownText(distro: RosDistro, type: string): string {
  const [pkg, kind, name] = type.split('/');
  const local = join(here, distro, pkg!, kind!, `${name}.${kind}`);
  if (existsSync(local)) return readFileSync(local, 'utf8');
  const fox = join(bundled, `ros2${distro}`, pkg!, 'msg', `${name}.msg`);
  if (kind === 'msg' && existsSync(fox)) return readFileSync(fox, 'utf8').split(`\n${SEPARATOR}\n`)[0]!;
  throw new Error(`interface ${type} is in neither ros/interfaces/${distro} nor the bundled ${distro} definitions`);
}

/** Field types rewritten fully qualified (`Header` → std_msgs/Header, `Foo` → pkg/Foo); returns the text and its dependencies. */
function qualify(text: string, pkg: string): { text: string; deps: string[] } {
  const deps: string[] = [];
  const lines = text.split('\n').map((line) => {
    const m = /^(\s*)([A-Za-z][\w/]*)((?:\[[^\]]*\])?)(\s+)([a-z]\w*)(.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) return line;
    const [, lead, t, arr, sp, field, rest] = m;
    if (rest!.trimStart().startsWith('=') || PRIMITIVES.has(t!) || /^w?string<=/.test(t!)) return line;
    const full = t === 'Header' ? 'std_msgs/Header' : t!.includes('/') ? t! : `${pkg}/${t}`;
    deps.push(full);
    return `${lead}${full}${arr}${sp}${field}${rest}`;
  });
  return { text: lines.join('\n'), deps };
}

/** `pkg/Name` or `pkg/msg/Name` → `pkg/msg/Name`. */
const msgType = (t: string): string => (t.split('/').length === 3 ? t : t.replace('/', '/msg/'));

/** Full schema text of a message given its own (qualified) text: root first, then every dependency once. */
function schemaOf(distro: RosDistro, rootText: string, rootDeps: string[]): string {
  const parts = [rootText.trimEnd()];
  const seen = new Set<string>();
  const queue = [...rootDeps];
  while (queue.length) {
    const dep = queue.shift()!;
    if (seen.has(dep)) continue;
    seen.add(dep);
    const [pkg, name] = [dep.split('/')[0]!, dep.split('/').pop()!];
    const q = qualify(ownText(distro, msgType(dep)), pkg);
    parts.push(`${SEPARATOR}\nMSG: ${pkg}/${name}\n${q.text.trimEnd()}`);
    queue.push(...q.deps);
  }
  return `${parts.join('\n')}\n`;
}

/** The sections of a .srv (2) or .action (3) file. */
function sections(text: string, n: number, type: string): string[] {
  const s = text.split(/^---\s*$/m);
  if (s.length !== n) throw new Error(`${type}: expected ${n} sections separated by ---, found ${s.length}`);
  return s;
}

const registered = new Set<string>();

/** Registers service `pkg/srv/Name` (its _Request and _Response) with the distro's codec. */
export function registerService(distro: RosDistro, type: string): { request: string; response: string } {
  const [pkg, , name] = type.split('/');
  const request = `${pkg}/srv/${name}_Request`;
  const response = `${pkg}/srv/${name}_Response`;
  const key = `${distro}:${type}`;
  if (!registered.has(key)) {
    const codec = RosMessageCodec.for(distro);
    const [req, res] = sections(ownText(distro, type), 2, type);
    for (const [t, body] of [
      [request, req!],
      [response, res!],
    ] as const) {
      const q = qualify(body, pkg!);
      codec.register(t, schemaOf(distro, q.text, q.deps));
    }
    registered.add(key);
  }
  return { request, response };
}

/** The rosidl-generated types of action `pkg/action/Name`. */
export interface ActionTypes {
  goal: string;
  result: string;
  feedback: string;
  sendGoal: { request: string; response: string };
  getResult: { request: string; response: string };
  feedbackMessage: string;
}

/** Registers action `pkg/action/Name` (goal, result, feedback and the rcl_action protocol types). */
export function registerAction(distro: RosDistro, type: string): ActionTypes {
  const [pkg, , name] = type.split('/');
  const base = `${pkg}/action/${name}`;
  const t: ActionTypes = {
    goal: `${base}_Goal`,
    result: `${base}_Result`,
    feedback: `${base}_Feedback`,
    sendGoal: { request: `${base}_SendGoal_Request`, response: `${base}_SendGoal_Response` },
    getResult: { request: `${base}_GetResult_Request`, response: `${base}_GetResult_Response` },
    feedbackMessage: `${base}_FeedbackMessage`,
  };
  const key = `${distro}:${type}`;
  if (registered.has(key)) return t;
  const codec = RosMessageCodec.for(distro);
  const [goal, result, feedback] = sections(ownText(distro, type), 3, type).map((s) => qualify(s, pkg!));
  const own = (body: string) => ({ text: body, deps: qualify(body, pkg!).deps });
  // The protocol messages refer to the goal/result/feedback parts by name; those parts' texts are
  // handed to schemaOf through a local lookup (they exist only here, not as files).
  const parts: Record<string, { text: string; deps: string[] }> = {
    [`${pkg}/${name}_Goal`]: goal!,
    [`${pkg}/${name}_Result`]: result!,
    [`${pkg}/${name}_Feedback`]: feedback!,
  };
  const compose = (body: string): string => {
    const root = own(body);
    const extra = root.deps.filter((d) => d in parts);
    const rest = root.deps.filter((d) => !(d in parts));
    const partTexts = extra.map((d) => `${SEPARATOR}\nMSG: ${d}\n${parts[d]!.text.trimEnd()}`);
    const depsOfParts = extra.flatMap((d) => parts[d]!.deps);
    const tail = schemaOf(distro, '', [...rest, ...depsOfParts]).replace(/^\n/, '');
    return `${[root.text.trimEnd(), ...partTexts].join('\n')}\n${tail}`;
  };
  codec.register(t.goal, schemaOf(distro, goal!.text, goal!.deps));
  codec.register(t.result, schemaOf(distro, result!.text, result!.deps));
  codec.register(t.feedback, schemaOf(distro, feedback!.text, feedback!.deps));
  codec.register(t.sendGoal.request, compose(`unique_identifier_msgs/UUID goal_id\n${pkg}/${name}_Goal goal\n`));
  codec.register(t.sendGoal.response, compose('bool accepted\nbuiltin_interfaces/Time stamp\n'));
  codec.register(t.getResult.request, compose('unique_identifier_msgs/UUID goal_id\n'));
  codec.register(t.getResult.response, compose(`int8 status\n${pkg}/${name}_Result result\n`));
  codec.register(t.feedbackMessage, compose(`unique_identifier_msgs/UUID goal_id\n${pkg}/${name}_Feedback feedback\n`));
  registered.add(key);
  return t;
}

/** action_msgs/GoalStatus codes (action_msgs/msg/GoalStatus.msg). */
export const GOAL_STATUS = { UNKNOWN: 0, ACCEPTED: 1, EXECUTING: 2, CANCELING: 3, SUCCEEDED: 4, CANCELED: 5, ABORTED: 6 } as const;
/** action_msgs/srv/CancelGoal return codes. */
export const CANCEL_RETURN = { ERROR_NONE: 0, ERROR_REJECTED: 1, ERROR_UNKNOWN_GOAL_ID: 2, ERROR_GOAL_TERMINATED: 3 } as const;
