/**
 * From a structurally valid scenario document to the normalised `Scenario`:
 * defaults, units to numbers, and the checks a JSON Schema cannot express
 * (relations between fields).
 */

import { splitMetricName } from "../measures/names.js";
import { splitRunKey } from "../metrics/run-keys.js";
import { formatPath, type Problem } from "../shared/problem.js";
import {
  defaultTransportNames,
  isTransportName,
  type ProtocolName,
  transportNames,
  transports,
} from "../shared/transports.js";
import {
  clientsProblems,
  FALLBACK_VARIANT,
  fallbackProblems,
  readChannelSkew,
  readChurn,
  readFallback,
} from "./clients-section.js";
import { isToleranceKey, readCompareList } from "./comparison.js";
import { readFaults } from "./faults.js";
import { networkProblems, readNetwork, readSlow } from "./network-section.js";
import { type Reader, reader } from "./reader.js";
import { readReconnectPolicies } from "./reconnect.js";
import {
  readServerOptions,
  readVariants,
  scenarioServers,
  serverSectionProblems,
} from "./server-section.js";
import { checkTargetTransports, readTarget, targetUrlProblem } from "./target.js";
import { thresholdProblems } from "./thresholds.js";
import { resolveServerTls } from "./tls-section.js";
import type { Scenario, ScenarioOverrides, TransportOptions } from "./types.js";
import { formatDuration, parseDuration } from "./units.js";

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
 * because warmup, drain, rampUp and deliveryDelay are fine at zero. Every
 * transport's duration settings (`shortPoll.interval`) must be above zero too.
 */
const POSITIVE_DURATIONS = [
  "duration",
  "generator.maxEventLoopDelay",
  "publish.ackTimeout",
] as const;

type Doc = Record<string, unknown>;

export function normaliseScenario(
  doc: Doc,
  context: NormaliseContext,
): { scenario: Scenario; problems: Problem[] } {
  const problems: Problem[] = [];
  const { isBad, overrides } = context;
  const read = reader(doc);

  const policies = readReconnectPolicies(doc, isBad, problems);
  const variants = readVariants(doc);
  const fallback = readFallback(read);
  const listedProtocols =
    overrides.protocols ?? (read.raw("protocols") as ProtocolName[] | undefined);
  const scenario = readFields(read, doc, context, {
    policies,
    variants,
    fallback,
    listedProtocols,
  });

  scenario.target = readTarget(doc.target, {
    file: context.source.file,
    serverHeartbeatMs: scenario.server.heartbeatIntervalMs,
    isBad,
    problems,
  });
  checkTargetTransports(scenario, doc, overrides, problems);
  resolveTls(scenario, context.source.file, problems);
  problems.push(...durationProblems(scenario, read, overrides, isBad));

  problems.push(...serverSectionProblems(doc, scenario, variants, isBad));
  problems.push(...relationProblems(doc, scenario, read, isBad));
  problems.push(...clientsProblems(scenario, isBad));
  problems.push(
    ...fallbackProblems(
      scenario,
      listedProtocols,
      overrides.protocols ? "protocols (override)" : "protocols",
      isBad,
    ),
  );
  problems.push(...networkProblems(scenario, isBad));
  scenario.faults = readFaults(doc.faults, faultLimits(scenario), isBad, problems);
  // Metric names and conditions are checked here, not at the end of a run:
  // a typo in a CI gate must fail before minutes of load, not after.
  const thresholds = doc.thresholds;
  if (typeof thresholds === "object" && thresholds !== null && !Array.isArray(thresholds)) {
    for (const found of thresholdProblems(thresholds as Record<string, unknown>)) {
      if (!isBad(found.entryPath)) problems.push({ path: found.path, text: found.text });
    }
    problems.push(...variantKeyProblems(Object.keys(thresholds), scenario, isBad));
  }
  scenario.tolerances = readTolerances(doc.tolerances, isBad, problems);
  scenario.compare = readCompareList(doc.compare, isBad, problems);
  return { scenario, problems };
}

/** The scenario's fields read with their defaults and units; target and faults come later. */
function readFields(
  read: Reader,
  doc: Doc,
  context: NormaliseContext,
  parts: {
    policies: ReturnType<typeof readReconnectPolicies>;
    variants: ReturnType<typeof readVariants>;
    fallback: Scenario["clients"]["fallback"];
    listedProtocols: ProtocolName[] | undefined;
  },
): Scenario {
  const { overrides } = context;
  const { policies, variants, fallback, listedProtocols } = parts;
  return {
    name: (read.raw("name") as string | undefined) ?? context.defaultName,
    description: read.value("description"),
    source: context.source,
    // With fallback, one run keyed by the first transport its clients try.
    protocols: listedProtocols ?? (fallback ? fallback.order.slice(0, 1) : defaultTransportNames()),
    seed: read.value("seed"),
    server: readServerOptions(read),
    variants: variants.map((v) => v.variant),
    // Read below, once the server's heartbeat interval is known.
    target: null,
    clients: {
      count: read.value("clients.count"),
      rampUpMs: read.duration("clients.rampUp"),
      channels: read.value("clients.channels"),
      channelPrefix: read.value("clients.channelPrefix"),
      shards: read.value("clients.shards"),
      channelSkew: readChannelSkew(read.value("clients.channelSkew")),
      members: read.value("clients.members"),
      maxNeverConnectedShare: read.value("clients.maxNeverConnectedShare"),
      churn: readChurn(read),
      network: readNetwork(read.raw("clients.network")),
      slow: readSlow(read.raw("clients.slow")),
      fallback,
    },
    publish: {
      ratePerSec: read.rate("publish.rate"),
      payloadBytes: read.value("publish.payloadBytes"),
      payload: read.value("publish.payload") as Scenario["publish"]["payload"],
      via: read.value("publish.via") as Scenario["publish"]["via"],
      publishers: read.value("publish.publishers"),
      maxInFlight: read.value("publish.maxInFlight"),
      ackTimeoutMs: read.duration("publish.ackTimeout"),
    },
    durationMs: overrides.durationMs ?? read.duration("duration"),
    warmupMs: read.duration("warmup"),
    drainMs: read.duration("drain"),
    transports: readTransportSections(read, policies.byTransport),
    reconnect: policies.reconnect,
    // Read below, once the run's length and the server are known.
    faults: [],
    generator: {
      maxEventLoopDelayMs: read.duration("generator.maxEventLoopDelay"),
      maxCpuShare: read.value("generator.maxCpuShare"),
      maxEventLoopUtilization: read.value("generator.maxEventLoopUtilization"),
    },
    workers: { maxClockBoundMs: read.duration("workers.maxClockBound") },
    saturation: {
      serverCpuShare: read.value("saturation.serverCpuShare"),
      latencyRiseMs: read.duration("saturation.latencyRise"),
      latencyRiseFactor: read.value("saturation.latencyRiseFactor"),
    },
    presence: { sampleIntervalMs: read.duration("presence.sampleInterval") },
    thresholds: (doc.thresholds as Record<string, string> | undefined) ?? {},
    tolerances: {},
    compare: [],
  };
}

/** `server.tls` and each variant's: files read, or a throwaway CA asked for. */
function resolveTls(scenario: Scenario, file: string | null, problems: Problem[]): void {
  scenario.server.tls = resolveServerTls(scenario.server.tls, "server.tls", file, problems);
  for (const [index, variant] of scenario.variants.entries()) {
    variant.server.tls = resolveServerTls(
      variant.server.tls,
      `variants[${index}].server.tls`,
      file,
      problems,
    );
  }
}

/** POSITIVE_DURATIONS and every transport's duration settings above zero. */
function durationProblems(
  scenario: Scenario,
  read: Reader,
  overrides: ScenarioOverrides,
  isBad: (path: string) => boolean,
): Problem[] {
  const durationOf: Record<(typeof POSITIVE_DURATIONS)[number], number> = {
    duration: scenario.durationMs,
    "generator.maxEventLoopDelay": scenario.generator.maxEventLoopDelayMs,
    "publish.ackTimeout": scenario.publish.ackTimeoutMs,
  };
  const positive = Object.entries(durationOf);
  for (const t of transports()) {
    for (const [key, setting] of Object.entries(t.settings)) {
      if (setting.kind !== "duration") continue;
      const value = scenario.transports[t.name]?.settings[setting.field];
      positive.push([`${t.section}.${key}`, Number(value)]);
    }
  }
  const problems: Problem[] = [];
  for (const [path, valueMs] of positive) {
    if (path === "duration" && overrides.durationMs !== undefined) continue;
    if (!isBad(path) && !(valueMs > 0)) {
      problems.push({
        path,
        text: `expected a duration above 0, found ${JSON.stringify(read.raw(path))}`,
      });
    }
  }
  return problems;
}

/** Relations between fields: target or server, warmup within duration, a subscriber per channel. */
function relationProblems(
  doc: Doc,
  scenario: Scenario,
  read: Reader,
  isBad: (path: string) => boolean,
): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: string, text: string) => problems.push({ path, text });
  const { clients } = scenario;
  if (doc.server !== undefined && doc.target !== undefined && doc.target !== null) {
    const proxied = isMapping(doc.server) && doc.server.proxy !== undefined;
    problem(
      "server",
      proxied
        ? "expected no server section when target is set: server.proxy goes in front of the reference instances only (a target's servers, target.command ones included, cannot be put behind it yet), found server.proxy with target"
        : "expected no server section when target is set (rtbench measures the running target and starts no server), found both",
    );
  }
  if (scenario.target !== null && !isBad("target") && !isMapping(doc.target)) {
    // The schema's pattern checks the shape; the URL parser catches the rest (ports, hosts).
    scenario.target.urls.forEach((url, index) => {
      const found = targetUrlProblem(url);
      if (found === null) return;
      problem(Array.isArray(doc.target) ? `target[${index}]` : "target", found);
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
  return problems;
}

/**
 * Every registered transport's section: its settings as its descriptor names
 * them (durations in ms) and its reconnect policy. The runner passes them to
 * the transport's client untouched.
 */
function readTransportSections(
  read: Reader,
  policies: Record<string, Scenario["reconnect"]>,
): Record<ProtocolName, TransportOptions> {
  const sections: Record<ProtocolName, TransportOptions> = {};
  for (const t of transports()) {
    const settings: Record<string, number | string> = {};
    for (const [key, setting] of Object.entries(t.settings)) {
      const path = `${t.section}.${key}`;
      const given = read.raw(path);
      settings[setting.field] =
        setting.kind === "duration"
          ? read.durationOr(path, parseDuration(setting.default))
          : ((given as number | string | undefined) ?? setting.default);
    }
    // readReconnectPolicies has a policy for every registered transport.
    sections[t.name] = { settings, reconnect: policies[t.name] as Scenario["reconnect"] };
  }
  return sections;
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

/** Threshold keys naming a variant (`websocket@sticky.lost`) must name one of the scenario's. */
function variantKeyProblems(
  keys: string[],
  scenario: Scenario,
  isBad: (path: string) => boolean,
): Problem[] {
  const names = scenario.variants.map((v) => v.name);
  // A fallback run without variants is keyed websocket@fallback.
  if (scenario.clients.fallback !== null && names.length === 0) names.push(FALLBACK_VARIANT);
  return keys.flatMap((key) => {
    const path = formatPath(["thresholds", key]);
    const { variant } = splitRunKey(splitMetricName(key).protocol);
    if (variant === null || names.includes(variant) || isBad(path)) return [];
    const expected =
      names.length > 0 ? `one of ${names.join(", ")}` : "no variant (the scenario lists none)";
    return [{ path, text: `unknown variant "${variant}"; expected ${expected}` }];
  });
}

/**
 * What faults are checked against when variants differ: the fewest instances
 * any variant starts, and Redis only if every variant has one.
 */
function faultLimits(scenario: Scenario): Scenario {
  const servers = scenarioServers(scenario);
  const instances = Math.min(...servers.map((s) => s.instances));
  const broker = servers.find((s) => s.broker !== "redis")?.broker ?? scenario.server.broker;
  return { ...scenario, server: { ...scenario.server, instances, broker } };
}

function isMapping(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
      if (!isTransportName(name)) {
        problems.push({
          path: `protocols[${index}] (override)`,
          text: `expected one of ${transportNames().join(", ")}, found ${JSON.stringify(name)}`,
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
