import { randomBytes } from "node:crypto";
import type { ClientTlsSettings } from "../../clients/tls.js";
import type { RunResult } from "../../metrics/types.js";
import { scenarioServers } from "../../scenario/server-section.js";
import type { ProxyOptions, Scenario, TargetOptions } from "../../scenario/types.js";
import { type BrokerKind, brokerInfo, type ServiceName } from "../../shared/brokers.js";
import type { EffectiveServerSettings } from "../../shared/server-launch.js";
import { DEFAULT_TARGET_PROTOCOL, targetProtocol } from "../../targets/registry.js";
import type { TargetProtocol, TargetSpec } from "../../targets/types.js";
import { redactText } from "../../util/redact.js";
import { startCommandedServers } from "./commanded.js";
import { waitHealthy, waitListening } from "./health.js";
import { type RunTls, serverTlsUp, targetTlsUp } from "./run-tls.js";
import { readServerSettings } from "./server-settings.js";
import { type ServerSet, startServers } from "./servers.js";

/**
 * The system under test, resolved once at the start of a run: the bundled
 * reference server or a target of any protocol, described alike. The stages
 * ask it what to do (start it, wait for it, which token, which heartbeat,
 * what it can do) instead of asking whether there is a target; this file is
 * the one place that asks.
 */
export interface SystemUnderTest {
  /** The protocol it speaks, looked up once (the reference protocol for the bundled server). */
  readonly protocol: TargetProtocol;
  /** What the shards build their clients from: the protocol and its wire. */
  readonly clients: TargetSpec;
  /** True when rtbench starts its processes (and stops, samples and faults them). */
  readonly owned: boolean;
  /** The token its instances require (`server.auth`); null: none, or a target's own credentials. */
  readonly auth: string | null;
  /** How often it sends heartbeats, for the client watchdog; 0: not known (the watchdog is off). */
  readonly heartbeatIntervalMs: number;
  /** How clients and publishers speak TLS to it when it is not ours to set up; null: ours, or none. */
  readonly clientTls: ClientTlsSettings | null;
  /** Sticky routing: each channel lives on the instance its hash names. */
  readonly sticky: boolean;
  /** Tiered fanout: the channels' members are registered with the instances before the run. */
  readonly registersMembers: boolean;
  /** The proxy rtbench starts in front of the instances (`server.proxy`); null: none. */
  readonly proxy: ProxyOptions | null;
  /** Its listen backlog when known (the reference server's); null: unknown. */
  readonly listenBacklog: number | null;
  /** Instances that run on this machine beside the shards, for the shard plan. */
  readonly localInstances: number;
  /** Whether it acknowledges each publish; otherwise one counts as sent once written. */
  readonly acknowledgesPublishes: boolean;
  /** The brokers whose backing services a run starts for it (Redis a target asks for). */
  readonly brokers: readonly BrokerKind[];
  /** The backing service its instances are given (its URL); null: none. */
  readonly service: ServiceName | null;
  /** What the result's setup says about it. */
  readonly setup: Pick<RunResult["setup"], "broker" | "instances" | "target"> &
    Partial<RunResult["setup"]>;
  /** The run's TLS: the files its instances serve, what the clients and fetch trust. */
  tlsUp(log: (line: string) => void): RunTls;
  /**
   * Starts the instances rtbench owns, then waits until every instance
   * answers (its health route, or a connection). `servers` is null for a
   * running target.
   */
  up(context: UpContext): Promise<{ servers: ServerSet | null; urls: string[] }>;
  /** What instance 0 runs with, defaults resolved; null where they are not ours to know. */
  settings(urls: readonly string[]): Promise<EffectiveServerSettings | null>;
}

export interface UpContext {
  /** Where the broker's backing service listens; null: none. */
  brokerUrl: string | null;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** The certificate and key the reference instances serve (server.tls); null: plain HTTP. */
  tlsFiles: { cert: string; key: string } | null;
  /** Where the reference server instances listen (default loopback). */
  serverHost?: string;
}

/** The system the scenario measures (for a variant, the scenario with the variant's server). */
export function systemUnderTest(scenario: Scenario): SystemUnderTest {
  return scenario.target === null ? bundledServer(scenario) : target(scenario.target);
}

function bundledServer(scenario: Scenario): SystemUnderTest {
  const { server } = scenario;
  const protocol = targetProtocol(DEFAULT_TARGET_PROTOCOL);
  return {
    protocol,
    clients: { protocol: protocol.name, wire: {} },
    owned: true,
    auth: server.auth,
    heartbeatIntervalMs: server.heartbeatIntervalMs,
    clientTls: null,
    sticky: server.routing === "sticky",
    registersMembers: server.fanout === "tiered",
    proxy: server.proxy,
    listenBacklog: REFERENCE_LISTEN_BACKLOG,
    localInstances: server.instances,
    acknowledgesPublishes: true,
    // Every variant's broker: a scenario comparing redis and nats starts both.
    brokers: scenarioServers(scenario).map((s) => s.broker),
    service: brokerInfo(server.broker).service,
    setup: { broker: server.broker, instances: server.instances, target: null },
    tlsUp: () => serverTlsUp(server),
    async up(context) {
      const servers = await startServers(
        scenario,
        context.brokerUrl,
        context.log,
        // Each protocol run gets broker keys of its own, so nothing one run left
        // in Redis (history, members online) is seen by the next.
        `rtbench:${randomBytes(4).toString("hex")}:`,
        context.tlsFiles,
        context.serverHost,
      );
      try {
        await waitHealthy(servers.urls, undefined, context.signal, protocol.healthPath);
      } catch (error) {
        await servers.stop();
        throw error;
      }
      return { servers, urls: servers.urls };
    },
    settings: (urls) => readServerSettings(urls[0] as string),
  };
}

/** The backlog the reference server asks listen() for (reference-server/index.ts). */
export const REFERENCE_LISTEN_BACKLOG = 65_535;

function target(options: TargetOptions): SystemUnderTest {
  const protocol = targetProtocol(options.protocol);
  const { command } = options;
  const acknowledgesPublishes = protocol.acknowledges(options.wire);
  return {
    protocol,
    clients: { protocol: protocol.name, wire: options.wire },
    owned: command !== null,
    // A target's credentials are its own (URL, headers).
    auth: null,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0,
    clientTls: options.tls,
    sticky: false,
    registersMembers: false,
    proxy: null,
    listenBacklog: null,
    localInstances: 0,
    acknowledgesPublishes,
    // Redis a target started by command asks for with {redisUrl} (a Socket.IO adapter, Nchan's storage).
    brokers: command?.needsRedis ? ["redis"] : [],
    service: "redis",
    setup: {
      broker: "external",
      instances: command?.instances ?? options.urls.length,
      // A result is shared and committed: credentials in a target URL stay out of it.
      target: options.urls.map(redactText),
      targetProtocol: options.protocol,
      targetCommand: command?.line ?? null,
      publishAcknowledged: acknowledgesPublishes,
      notes: acknowledgesPublishes
        ? []
        : [
            `${options.protocol} does not acknowledge publishes here: each counts as sent once written, publish failures are not known (n/a), and loss is still exact from the bodies' sequences`,
          ],
    },
    tlsUp: (log) => targetTlsUp(options.tls, log),
    async up(context) {
      if (command === null) {
        // A running target is asked its protocol's health route, if it has one,
        // and must at least accept a connection without one.
        if (protocol.healthPath !== undefined) {
          await waitHealthy(options.urls, undefined, context.signal, protocol.healthPath);
        } else {
          await waitListening(options.urls, undefined, context.signal);
        }
        return { servers: null, urls: options.urls };
      }
      // A commanded target waits for its own health check.
      const placeholders: Record<string, string> = {};
      if (context.brokerUrl !== null) placeholders.redisUrl = context.brokerUrl;
      for (const [name, value] of Object.entries(protocol.commandPlaceholders ?? {})) {
        placeholders[name] = value();
      }
      const servers = await startCommandedServers({ command, placeholders, log: context.log });
      context.log(`started ${command.instances} target instance(s) at ${servers.urls.join(", ")}`);
      return { servers, urls: servers.urls };
    },
    settings: async () => null,
  };
}
