/**
 * From a structurally valid scenario document to the normalised `Scenario`:
 * defaults, units to numbers, and the checks a JSON Schema cannot express
 * (relations between fields) run in the order they report. Each check lives
 * with its part: server-checks.ts, relations.ts, faults.ts, target.ts, ...
 */

import type { Problem } from "../shared/problem.js";
import { defaultTransportNames, type ProtocolName, transports } from "../shared/transports.js";
import {
  clientsProblems,
  fallbackProblems,
  readChannelSkew,
  readChurn,
  readFallback,
} from "./clients-section.js";
import { readCompareList, readTolerances } from "./comparison.js";
import { readFaults } from "./faults.js";
import { networkProblems, readNetwork, readSlow } from "./network-section.js";
import { type Doc, type Reader, reader } from "./reader.js";
import { readReconnectPolicies } from "./reconnect.js";
import { durationProblems, relationProblems, thresholdKeyProblems } from "./relations.js";
import { serverSectionProblems } from "./server-checks.js";
import { readServerOptions, readVariants, scenarioServers } from "./server-section.js";
import { checkTargetTransports, readTarget } from "./target.js";
import { resolveServerTls } from "./tls-section.js";
import type { Scenario, ScenarioOverrides, TransportOptions } from "./types.js";
import { parseDuration } from "./units.js";

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
  problems.push(...thresholdKeyProblems(doc.thresholds, scenario, isBad));
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
