import type { ClientContext, ClientOptions, TransportClient } from "../../clients/types.js";
import type { ShardMeasures } from "../../measures/shard.js";
import type { Counters } from "../../metrics/counters.js";
import type { LatencyHistogram } from "../../metrics/histogram.js";
import type { ProtocolName } from "../../shared/transports.js";
import type { Clock } from "../../util/clock.js";
import type { ShardStart } from "../shards/shard-protocol.js";
import type { FleetTimeline } from "./fleet-timeline.js";

/**
 * What a subscriber asks of the fleet it belongs to (load/fleet/fleet.ts is the
 * one implementation). Named here, below both, so the subscriber does not
 * import the fleet that creates it.
 */
export interface SubscriberFleet {
  readonly spec: ShardStart;
  readonly context: ClientContext;
  readonly clock: Clock;
  readonly random: () => number;
  readonly createClient: (protocol: ProtocolName, options: ClientOptions) => TransportClient;
  readonly requestTimeoutMs: number;
  readonly logsConnections: boolean;
  readonly timeline: FleetTimeline;
  readonly counters: Counters;
  readonly latencyFromSend: LatencyHistogram;
  readonly connect: LatencyHistogram;
  readonly reconnect: LatencyHistogram;
  readonly outage: LatencyHistogram;
  /** The registered measures' shard side, told of the events they handle. */
  readonly measures: Pick<
    ShardMeasures,
    "ready" | "presence" | "caughtUp" | "brokerReturn" | "fallbackStep" | "firstMessage"
  >;
  /** Connections ready now, and messages received so far: the shard's progress. */
  open: number;
  received: number;
  isClosed(): boolean;
  countAttempt(): void;
  countDelivery(urlIndex: number): void;
  countUnrecognised(what: string | undefined, frame: unknown): void;
  noteConnectError(error: unknown): void;
  logBreak(urlIndex: number, reason: string): void;
}
