/**
 * From a structurally valid scenario document to the normalised `Scenario`:
 * defaults, units to numbers, and the checks a JSON Schema cannot express
 * (relations between fields).
 */
import { PROTOCOLS, type ProtocolName } from "../shared/protocol.js";
import { isToleranceKey, readCompareList } from "./comparison.js";
import { readFaults } from "./faults.js";
import type { Problem } from "./problem.js";
import { readReconnectPolicies } from "./reconnect.js";
import { thresholdProblems } from "./thresholds.js";
import type { Scenario } from "./types.js";
import { formatDuration, parseDuration, parseRate } from "./units.js";

export interface ScenarioOverrides {
  /** Replaces `protocols` (e.g. from `--protocols`). */
  protocols?: ProtocolName[];
  /** Replaces `duration` (e.g. from `--duration`). */
  durationMs?: number;
}

export interface NormaliseContext {
  /** Used when the file has no `name`. */
  defaultName: string;
  source: Scenario["source"];
  overrides: ScenarioOverrides;
  /** True when the schema already reported a problem at or below `path` (skip checks on it). */
  isBad: (path: string) => boolean;
}

/** The publisher's stamp, sequence and key live in the body: smaller payloads cannot carry them. */
export const MIN_PAYLOAD_BYTES = 128;

/**
 * Durations that must be above zero; the schema admits `0` for all durations
 * because warmup, drain, rampUp and deliveryDelay are fine at zero.
 */
const POSITIVE_DURATIONS = [
  "duration",
  "server.heartbeatInterval",
  "server.presenceTtl",
  "server.history.maxAge",
  "shortPoll.interval",
  "longPoll.timeout",
  "generator.maxEventLoopDelay",
] as const;

type Doc = Record<string, unknown>;

export function normaliseScenario(
  doc: Doc,
  context: NormaliseContext,
): { scenario: Scenario; problems: Problem[] } {
  const problems: Problem[] = [];
  const { isBad, overrides } = context;
  const read = reader(doc);

  const heartbeatIntervalMs = read.duration("server.heartbeatInterval", 30_000);
  const policies = readReconnectPolicies(doc, isBad, problems);
  const scenario: Scenario = {
    name: read.value("name", context.defaultName),
    description: read.value("description", ""),
    source: context.source,
    protocols: overrides.protocols ?? read.value("protocols", [...PROTOCOLS]),
    seed: read.value("seed", 1),
    server: {
      instances: read.value("server.instances", 1),
      broker: read.value("server.broker", "memory"),
      history: {
        maxCount: read.value("server.history.maxCount", 1000),
        maxAgeMs: read.duration("server.history.maxAge", 5 * 60_000),
      },
      heartbeatIntervalMs,
      presenceTtlMs: read.duration("server.presenceTtl", 3 * heartbeatIntervalMs),
      maxBodyBytes: read.value("server.maxBodyBytes", 65_536),
      deliveryDelayMs: read.duration("server.deliveryDelay", 0),
    },
    target: readTarget(doc.target),
    clients: {
      count: read.value("clients.count", 100),
      rampUpMs: read.duration("clients.rampUp", 5_000),
      channels: read.value("clients.channels", 10),
      channelPrefix: read.value("clients.channelPrefix", "room-"),
      shards: read.value("clients.shards", 0),
    },
    publish: {
      ratePerSec: read.rate("publish.rate", 10),
      payloadBytes: read.value("publish.payloadBytes", 256),
      via: read.value("publish.via", "http"),
      publishers: read.value("publish.publishers", 1),
    },
    durationMs: overrides.durationMs ?? read.duration("duration", 30_000),
    warmupMs: read.duration("warmup", 5_000),
    drainMs: read.duration("drain", 5_000),
    shortPoll: {
      intervalMs: read.duration("shortPoll.interval", 1_000),
      reconnect: policies.bySection.shortPoll,
    },
    longPoll: {
      timeoutMs: read.duration("longPoll.timeout", 30_000),
      reconnect: policies.bySection.longPoll,
    },
    sse: { client: read.value("sse.client", "lean"), reconnect: policies.bySection.sse },
    websocket: { reconnect: policies.bySection.websocket },
    reconnect: policies.reconnect,
    // Read below, once the run's length and the server are known.
    faults: [],
    generator: { maxEventLoopDelayMs: read.duration("generator.maxEventLoopDelay", 50) },
    thresholds: read.value("thresholds", {}),
    tolerances: {},
    compare: [],
  };

  const problem = (path: string, text: string) => problems.push({ path, text });
  const durationOf: Record<(typeof POSITIVE_DURATIONS)[number], number> = {
    duration: scenario.durationMs,
    "server.heartbeatInterval": scenario.server.heartbeatIntervalMs,
    "server.presenceTtl": scenario.server.presenceTtlMs,
    "server.history.maxAge": scenario.server.history.maxAgeMs,
    "shortPoll.interval": scenario.shortPoll.intervalMs,
    "longPoll.timeout": scenario.longPoll.timeoutMs,
    "generator.maxEventLoopDelay": scenario.generator.maxEventLoopDelayMs,
  };
  for (const path of POSITIVE_DURATIONS) {
    if (path === "duration" && overrides.durationMs !== undefined) continue;
    if (!isBad(path) && !(durationOf[path] > 0)) {
      problem(path, `expected a duration above 0, found ${JSON.stringify(read.raw(path))}`);
    }
  }

  const { server, clients, publish } = scenario;
  if (
    !isBad("server.instances") &&
    !isBad("server.broker") &&
    server.instances > 1 &&
    server.broker !== "redis"
  ) {
    problem(
      "server.broker",
      `expected redis when server.instances is ${server.instances} (a memory broker cannot share messages between processes), found "${server.broker}"`,
    );
  }
  if (doc.server !== undefined && doc.target !== undefined && doc.target !== null) {
    problem(
      "server",
      "expected no server section when target is set (rtbench measures the running target and starts no server), found both",
    );
  }
  if (scenario.target !== null && !isBad("target")) {
    // The schema's pattern checks the shape; the URL parser catches the rest (ports, hosts).
    scenario.target.urls.forEach((url, index) => {
      if (URL.canParse(url)) return;
      const path = Array.isArray(doc.target) ? `target[${index}]` : "target";
      problem(path, `expected a valid http:// or https:// URL, found ${JSON.stringify(url)}`);
    });
  }
  if (
    !isBad("warmup") &&
    !isBad("duration") &&
    scenario.durationMs > 0 &&
    scenario.warmupMs >= scenario.durationMs
  ) {
    problem(
      "warmup",
      `expected less than duration (${formatDuration(scenario.durationMs)}), found ${JSON.stringify(read.raw("warmup"))}`,
    );
  }
  if (!isBad("clients.channels") && !isBad("clients.count") && clients.channels > clients.count) {
    problem(
      "clients.channels",
      `expected at most clients.count (${clients.count}) so that every channel has a subscriber, found ${clients.channels}`,
    );
  }
  if (
    !isBad("publish.payloadBytes") &&
    !isBad("server.maxBodyBytes") &&
    scenario.target === null &&
    publish.payloadBytes > server.maxBodyBytes
  ) {
    problem(
      "publish.payloadBytes",
      `expected at most server.maxBodyBytes (${server.maxBodyBytes}), found ${publish.payloadBytes}`,
    );
  }
  if (
    !isBad("server.presenceTtl") &&
    !isBad("server.heartbeatInterval") &&
    server.presenceTtlMs > 0 &&
    server.presenceTtlMs < server.heartbeatIntervalMs
  ) {
    problem(
      "server.presenceTtl",
      `expected at least server.heartbeatInterval (${formatDuration(server.heartbeatIntervalMs)}), or users would flicker out between heartbeats, found ${JSON.stringify(read.raw("server.presenceTtl"))}`,
    );
  }
  scenario.faults = readFaults(doc.faults, scenario, isBad, problems);
  // Metric names and conditions are checked here, not at the end of a run:
  // a typo in a CI gate must fail before minutes of load, not after.
  const thresholds = doc.thresholds;
  if (typeof thresholds === "object" && thresholds !== null && !Array.isArray(thresholds)) {
    for (const found of thresholdProblems(thresholds as Record<string, unknown>)) {
      if (!isBad(found.entryPath)) problems.push({ path: found.path, text: found.text });
    }
  }
  scenario.tolerances = readTolerances(doc.tolerances, isBad, problems);
  scenario.compare = readCompareList(doc.compare, isBad, problems);
  return { scenario, problems };
}

/** `tolerances:` as fractions; the schema checked the percent syntax, this checks the keys. */
function readTolerances(
  raw: unknown,
  isBad: (path: string) => boolean,
  problems: Problem[],
): Record<string, number> {
  const tolerances: Record<string, number> = {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return tolerances;
  for (const [key, value] of Object.entries(raw)) {
    const path = `tolerances[${JSON.stringify(key)}]`;
    if (isBad(path) || typeof value !== "string") continue;
    if (!isToleranceKey(key)) {
      problems.push({
        path,
        text: `expected timing, rate, a metric (latency.p99) or a full metric name (websocket.latency.p99), found "${key}" (see \`rtbench metrics\`)`,
      });
      continue;
    }
    tolerances[key] = Number.parseFloat(value) / 100;
  }
  return tolerances;
}

/**
 * Reads dotted paths from the document, falling back to the default where a
 * value is missing. Values are trusted to have the schema's type: fields the
 * schema rejected are reported already and their checks skipped.
 */
function reader(doc: Doc) {
  const raw = (path: string): unknown => {
    let node: unknown = doc;
    for (const key of path.split(".")) {
      if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
      node = (node as Doc)[key];
    }
    return node;
  };
  return {
    raw,
    value<T>(path: string, fallback: T): T {
      const found = raw(path);
      return found === undefined ? fallback : (found as T);
    },
    duration(path: string, fallbackMs: number): number {
      const found = raw(path);
      if (found === 0) return 0;
      if (typeof found !== "string") return fallbackMs;
      return tryParse(parseDuration, found, fallbackMs);
    },
    rate(path: string, fallbackPerSec: number): number {
      const found = raw(path);
      if (typeof found !== "string") return fallbackPerSec;
      return tryParse(parseRate, found, fallbackPerSec);
    },
  };
}

function tryParse(parse: (text: string) => number, text: string, fallback: number): number {
  try {
    return parse(text);
  } catch {
    return fallback;
  }
}

function readTarget(value: unknown): Scenario["target"] {
  if (typeof value === "string") return { urls: [trimSlash(value)] };
  if (Array.isArray(value)) return { urls: value.map((url) => trimSlash(String(url))) };
  return null;
}

/** Clients append routes (`/api/messages`) to the base URL, so a trailing slash would double. */
function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

/** Checks overrides given by the caller (CLI flags) with the same words as file problems. */
export function overrideProblems(overrides: ScenarioOverrides): Problem[] {
  const problems: Problem[] = [];
  const { protocols, durationMs } = overrides;
  if (protocols !== undefined) {
    if (protocols.length === 0) {
      problems.push({ path: "protocols (override)", text: "expected at least one protocol" });
    }
    protocols.forEach((name, index) => {
      if (!PROTOCOLS.includes(name)) {
        problems.push({
          path: `protocols[${index}] (override)`,
          text: `expected one of ${PROTOCOLS.join(", ")}, found ${JSON.stringify(name)}`,
        });
      } else if (protocols.indexOf(name) !== index) {
        problems.push({
          path: `protocols[${index}] (override)`,
          text: `expected each protocol once, found ${JSON.stringify(name)} again`,
        });
      }
    });
  }
  if (durationMs !== undefined && !(Number.isFinite(durationMs) && durationMs > 0)) {
    problems.push({
      path: "duration (override)",
      text: `expected a duration above 0, found ${durationMs}ms`,
    });
  }
  return problems;
}
