/**
 * What the run and the fleet need to know about a transport, each in one
 * small function: the only places in src/load that look at a protocol's name.
 */
import type { ClientOptions } from "../clients/types.js";
import type { ReconnectPolicy, Scenario } from "../scenario/types.js";
import type { ProtocolName } from "../shared/protocol.js";

/** The transport's settings in a shard's start message, taken from its scenario section. */
export interface TransportStartSpec {
  shortPollIntervalMs: number;
  longPollTimeoutMs: number;
  sseClient: "lean" | "eventsource";
  reconnect: ReconnectPolicy;
}

export function transportStartSpec(scenario: Scenario, protocol: ProtocolName): TransportStartSpec {
  return {
    shortPollIntervalMs: scenario.shortPoll.intervalMs,
    longPollTimeoutMs: scenario.longPoll.timeoutMs,
    sseClient: scenario.sse.client,
    reconnect: reconnectPolicyFor(scenario, protocol),
  };
}

function reconnectPolicyFor(scenario: Scenario, protocol: ProtocolName): ReconnectPolicy {
  const sections = {
    "short-poll": scenario.shortPoll,
    "long-poll": scenario.longPoll,
    sse: scenario.sse,
    websocket: scenario.websocket,
  } as const;
  return sections[protocol].reconnect;
}

/** What a client is told for one connection, beyond the transport's settings. */
export type ConnectionOptions = Omit<
  ClientOptions,
  "shortPollIntervalMs" | "longPollTimeoutMs" | "sseClient"
>;

/** One connection's client options: the connection's own, plus the transport's settings. */
export function clientOptionsFor(
  start: Omit<TransportStartSpec, "reconnect">,
  connection: ConnectionOptions,
): ClientOptions {
  return {
    ...connection,
    shortPollIntervalMs: start.shortPollIntervalMs,
    longPollTimeoutMs: start.longPollTimeoutMs,
    sseClient: start.sseClient,
  };
}

/**
 * Whether the fleet's watchdog watches this transport's clients: streams
 * report their last traffic (`lastActivityMs`); a poll that hangs is caught
 * by its request timeout instead.
 */
export function isWatchable(protocol: ProtocolName): boolean {
  return protocol === "sse" || protocol === "websocket";
}

/** Whether the transport polls, so that the share of empty poll answers means something. */
export function isPolling(protocol: ProtocolName): boolean {
  return protocol === "short-poll" || protocol === "long-poll";
}
