/**
 * The scenario's `faults:` list to `Fault[]`, with the checks the schema
 * cannot make: which fields each action takes, instance indexes within
 * `server.instances` (or `target.instances`), flap times that fit, and every
 * fault inside the run (`at` counts from the start of ramp-up). What an
 * action needs of the rest of the scenario (Redis, a broker's service, a
 * target that can take it) is checked in fault-requirements.ts.
 */
import { type FieldProblem, formatFound, type Problem } from "../shared/problem.js";
import { requirementProblems } from "./fault-requirements.js";
import { unshapeableProblems } from "./network-section.js";
import { type Doc, isMapping } from "./reader.js";
import type { Fault, InstanceRef, Scenario } from "./types.js";
import { DURATION_EXPECTED, formatDuration, parseDuration } from "./units.js";

type Action = Fault["action"];

/** Fields each action takes besides `at` and `action`, in the order the schema lists the actions. */
const FIELDS_BY_ACTION: Record<Action, readonly string[]> = {
  kill: ["instance", "restartAfter"],
  restart: ["instance"],
  drop: ["instance", "fraction"],
  stall: ["instance", "for"],
  "redis-restart": ["for"],
  "stall-clients": ["for"],
  "broker-freeze": ["for"],
  "broker-stop": ["for"],
  "broker-restart": [],
  flap: ["every", "offlineFor", "fraction", "jitter"],
};

/** Every fault action (the schema's `fault.action` enum must be this list). */
export const FAULT_ACTIONS = Object.keys(FIELDS_BY_ACTION) as Action[];

/**
 * `scenario` must be normalised except for its faults: the limits come from
 * its server, target, ramp-up, duration and drain.
 */
export function readFaults(
  raw: unknown,
  scenario: Scenario,
  isBad: (path: string) => boolean,
  problems: Problem[],
): Fault[] {
  if (!Array.isArray(raw) || raw.length === 0) return [];
  if (scenario.target !== null && scenario.target.command === null) {
    problems.push({
      path: "faults",
      text: `expected no faults when target has no command (rtbench cannot kill, stall or drop a server it did not start), found ${raw.length}`,
    });
    return [];
  }
  const endMs = scenario.clients.rampUpMs + scenario.durationMs + scenario.drainMs;
  const limitsKnown = !isBad("clients.rampUp") && !isBad("duration") && !isBad("drain");
  const faults: Fault[] = [];
  raw.forEach((item, index) => {
    const fault = readFault(
      item,
      `faults[${index}]`,
      { scenario, endMs, limitsKnown, isBad },
      problems,
    );
    if (fault !== null) faults.push(fault);
  });
  // Array.prototype.sort is stable: faults at the same time keep the file's order.
  return faults.sort((a, b) => a.atMs - b.atMs);
}

interface Limits {
  scenario: Scenario;
  /** rampUp + duration + drain: the last moment a fault may fire. */
  endMs: number;
  limitsKnown: boolean;
  isBad: (path: string) => boolean;
}

function readFault(item: unknown, path: string, limits: Limits, problems: Problem[]): Fault | null {
  if (!isMapping(item)) return null;
  const fields = item as Doc;
  const { isBad, scenario } = limits;
  const before = problems.length;
  const problem = (field: string, text: string) =>
    problems.push({ path: `${path}.${field}`, text });

  const atMs = readAt(fields, path, limits, problem);
  const action = fields.action as Action | undefined;
  if (action === undefined) {
    problem("action", `expected one of ${Object.keys(FIELDS_BY_ACTION).join(", ")}, found nothing`);
    return null;
  }
  if (isBad(`${path}.action`)) return null;

  const allowed = FIELDS_BY_ACTION[action];
  for (const key of Object.keys(fields)) {
    if (key === "at" || key === "action" || allowed.includes(key) || isBad(`${path}.${key}`))
      continue;
    problem(key, `unknown field for action ${action} (allowed: at, action, ${allowed.join(", ")})`);
  }
  requirementProblems(action, scenario, isBad, problem);
  const parts: FaultParts = {
    instance: allowed.includes("instance")
      ? readInstance(fields, path, action, limits, problem)
      : null,
    forMs: allowed.includes("for") ? readFor(fields, path, isBad, problem) : null,
    fraction:
      action === "drop" || action === "flap" ? readFraction(fields, path, isBad, problem) : 1,
    flap: action === "flap" ? readFlap(fields, path, limits, problem) : null,
    restartAfterMs:
      action === "kill" && fields.restartAfter !== undefined && !isBad(`${path}.restartAfter`)
        ? durationMs(fields.restartAfter)
        : null,
  };
  if (problems.length > before || atMs === null) return null;
  return faultOf(action, atMs, parts);
}

/** The fields an action takes besides `at`, read and checked; unused ones stay null. */
interface FaultParts {
  instance: InstanceRef | "all" | null;
  forMs: number | null;
  fraction: number;
  flap: FlapTimes | null;
  restartAfterMs: number | null;
}

/** The fault of `action` from parts read without problems. */
function faultOf(action: Action, atMs: number, parts: FaultParts): Fault {
  const { instance, forMs, fraction, flap, restartAfterMs } = parts;
  switch (action) {
    case "kill":
      return { action, atMs, instance: instance as InstanceRef, restartAfterMs };
    case "restart":
      return { action, atMs, instance: instance as InstanceRef };
    case "drop":
      return { action, atMs, fraction, instance: instance ?? "all" };
    case "stall":
      return { action, atMs, instance: instance as InstanceRef, forMs: forMs as number };
    case "redis-restart":
    case "stall-clients":
    case "broker-freeze":
    case "broker-stop":
      return { action, atMs, forMs: forMs as number };
    case "broker-restart":
      return { action, atMs };
    case "flap":
      return { action, atMs, fraction, ...(flap as FlapTimes) };
  }
}

function readAt(fields: Doc, path: string, limits: Limits, problem: FieldProblem): number | null {
  if (fields.at === undefined) {
    problem("at", `expected ${DURATION_EXPECTED} from the start of ramp-up, found nothing`);
    return null;
  }
  if (limits.isBad(`${path}.at`)) return null;
  const atMs = durationMs(fields.at);
  if (limits.limitsKnown && atMs > limits.endMs) {
    problem(
      "at",
      `expected at most clients.rampUp + duration + drain (${formatDuration(limits.endMs)}), the end of the run, found ${formatFound(fields.at)}`,
    );
  }
  return atMs;
}

function readInstance(
  fields: Doc,
  path: string,
  action: Action,
  limits: Limits,
  problem: FieldProblem,
): InstanceRef | "all" | null {
  const raw = fields.instance;
  const command = limits.scenario.target?.command;
  const count = command ? command.instances : limits.scenario.server.instances;
  const field = command ? "target.instances" : "server.instances";
  const indexes = count === 1 ? "0" : `an index from 0 to ${count - 1}`;
  const expected =
    action === "drop"
      ? `${indexes} (${field} is ${count}), random or all`
      : `${indexes} (${field} is ${count}) or random`;
  if (raw === undefined) {
    if (action === "drop") return null;
    problem("instance", `expected ${expected}, found nothing`);
    return null;
  }
  if (limits.isBad(`${path}.instance`)) return null;
  const outOfRange = typeof raw === "number" && !limits.isBad(field) && raw >= count;
  if (outOfRange || (raw === "all" && action !== "drop")) {
    problem("instance", `expected ${expected}, found ${formatFound(raw)}`);
    return null;
  }
  return raw as InstanceRef | "all";
}

function readFor(
  fields: Doc,
  path: string,
  isBad: (path: string) => boolean,
  problem: FieldProblem,
): number | null {
  if (fields.for === undefined) {
    problem("for", `expected ${DURATION_EXPECTED} (how long it lasts), found nothing`);
    return null;
  }
  if (isBad(`${path}.for`)) return null;
  const forMs = durationMs(fields.for);
  if (!(forMs > 0)) {
    problem("for", `expected a duration above 0, found ${formatFound(fields.for)}`);
    return null;
  }
  return forMs;
}

function readFraction(
  fields: Doc,
  path: string,
  isBad: (path: string) => boolean,
  problem: FieldProblem,
): number {
  const raw = fields.fraction;
  if (raw === undefined || isBad(`${path}.fraction`)) return 1;
  if (!((raw as number) > 0)) {
    problem("fraction", `expected a number above 0 and at most 1, found ${formatFound(raw)}`);
  }
  return raw as number;
}

type FlapTimes = { everyMs: number; offlineForMs: number; jitterMs: number };

/** A flap's period, time offline and jitter: 0 < offlineFor < every, jitter within what is left. */
function readFlap(
  fields: Doc,
  path: string,
  limits: Limits,
  problem: FieldProblem,
): FlapTimes | null {
  const { isBad, scenario } = limits;
  for (const field of ["every", "offlineFor"]) {
    if (fields[field] === undefined) problem(field, `expected ${DURATION_EXPECTED}, found nothing`);
  }
  if (["every", "offlineFor", "jitter"].some((f) => isBad(`${path}.${f}`))) return null;
  if (fields.every === undefined || fields.offlineFor === undefined) return null;
  const everyMs = durationMs(fields.every);
  const offlineForMs = durationMs(fields.offlineFor);
  const jitterMs = fields.jitter === undefined ? 0 : durationMs(fields.jitter);
  if (!(offlineForMs > 0 && offlineForMs < everyMs)) {
    problem(
      "offlineFor",
      `expected a duration above 0 and below every (${formatDuration(everyMs)}), found ${formatFound(fields.offlineFor)}`,
    );
  } else if (jitterMs * 2 > everyMs - offlineForMs) {
    problem(
      "jitter",
      `expected at most half of every - offlineFor (${formatDuration((everyMs - offlineForMs) / 2)}), so one client's outages never overlap, found ${formatFound(fields.jitter)}`,
    );
  }
  const refusal = unshapeableProblems(scenario, `${path}.action`);
  for (const found of refusal) problem("action", found.text);
  return { everyMs, offlineForMs, jitterMs };
}

/** Durations the schema accepted (a string in its pattern, or 0). */
function durationMs(raw: unknown): number {
  return raw === 0 ? 0 : parseDuration(raw as string);
}
