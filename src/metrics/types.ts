import type { BrokerKind } from "../shared/brokers.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";
import type { ProtocolName } from "../shared/transports.js";
import type { ResultCounters } from "./counters.js";

/**
 * The result file: a public contract (schema/result.schema.json) read by CI
 * scripts and `rtbench compare`. Renaming a field needs a new schemaVersion.
 * Times are milliseconds (floats), sizes bytes.
 */
export const RESULT_SCHEMA_VERSION = 1;

export interface RunResult {
  schemaVersion: number;
  tool: { name: "rtbench"; version: string };
  scenario: { name: string; file: string | null; sha256: string | null };
  environment: {
    node: string;
    cpus: number;
    cpuModel: string;
    os: string;
    gitCommit: string | null;
  };
  startedAt: string;
  finishedAt: string;
  /** `partial` when the run was interrupted (Ctrl-C, crash) and holds what was measured so far. */
  status: "complete" | "partial" | "failed";
  /** Why the run failed (status "failed"). */
  error?: string;
  /** False if any protocol's generator was unhealthy: its numbers are not trustworthy. */
  reliable: boolean;
  /** What the run did, so a reader knows what the numbers describe. */
  setup: {
    broker: BrokerKind | "external";
    instances: number;
    target: string[] | null;
    durationMs: number;
    warmupMs: number;
    clients: number;
    channels: number;
    ratePerSec: number;
    payloadBytes: number;
    notes: string[];
    /** The scenario's variants, in order; `protocols` keys are then `protocol@variant`. */
    variants?: string[];
  };
  /**
   * By run key, in the order the runs happened: the transport's name, or
   * `name@variant` for a scenario with variants (metrics/run-keys.ts).
   */
  protocols: Record<ProtocolName, ProtocolResult>;
}

export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** The HdrHistogram, compressed and base64-encoded (microsecond units), for lossless merging. */
  hdr: string;
}

/**
 * One protocol's numbers. The clients' counters (duplicates, reordered,
 * breaks, ...) come from metrics/counters.ts, which describes each.
 */
export interface ProtocolResult extends ResultCounters {
  clients: number;
  /** Clients that became ready at least once. */
  connected: number;
  /** Messages scheduled in the measured window that the server acknowledged. */
  published: number;
  /** Messages scheduled in the window that were refused or never acknowledged (5 s). */
  publishFailed: number;
  /**
   * Per subscriber, the acknowledged messages of its channel scheduled in the
   * window and sent after it was first ready (load/aggregate.ts).
   */
  expected: number;
  /** Expected messages received at least once: delivered + lost = expected. */
  delivered: number;
  lost: number;
  latency: HistogramSummary;
  latencyFromSend: HistogramSummary;
  connect: HistogramSummary;
  bytesPerDelivery: number | null;
  /** HTTP requests the subscribers sent in the measured window (WebSocket: upgrades). */
  requests: number;
  /**
   * TCP connections the subscribers held open when the measured window
   * ended: one per client for most transports, one per keep-alive poller,
   * one per `streamsPerConnection` clients for SSE over HTTP/2.
   */
  tcpConnections?: number;
  requestsPerDelivery: number | null;
  emptyPollShare: number | null;
  server: {
    cpuSecondsPer1kDeliveries: number | null;
    rssBytesPerConnection: number | null;
    /**
     * What instance 0 said it runs with (`/healthz`), defaults resolved; null
     * for a `target`. Absent in results written before rtbench recorded it.
     */
    settings?: EffectiveServerSettings | null;
  };
  /**
   * Health of the load generator itself. `reliable` is false when any of its
   * processes had an event-loop delay p99, or the publisher a lag behind
   * schedule, above the scenario's limit.
   */
  generator: {
    eventLoopDelayP99: number;
    reliable: boolean;
    processes: number;
    publisherMaxLagMs: number;
    /** The scenario's limit behind `reliable`, so reports can say "p99 X ms > limit Y ms". */
    eventLoopDelayLimitMs?: number;
    /** Shard processes that died or did not report: their clients are missing from every number. */
    missingShards?: number;
  };
  /** Breaks noticed -> ready again, backoff included. */
  reconnect: HistogramSummary;
  /** Per subscriber and break: last message before it -> first message after it. */
  outage: HistogramSummary;
  /** Successful reconnects (= reconnect.count). */
  reconnects: number;
  attemptsPerReconnect: number | null;
  /** Highest number of reconnect attempts in one second over all clients: the thundering herd. */
  peakConnectAttemptsPerSec: number;
  /** Stall fault -> break noticed by a client on the stalled instance; null without a stall. */
  stallDetection: HistogramSummary | null;
  /**
   * `stall-clients` fault -> the server dropped a zombie client for missing
   * heartbeats; null without such a fault. Only WebSocket has heartbeats a
   * client must answer: SSE and polling servers cannot notice (count 0).
   */
  serverStallDetection: HistogramSummary | null;
  /** Faults injected during this protocol's run; times in ms from the start of ramp-up. */
  faults: {
    action: string;
    instance: number | "all" | null;
    firedAtMs: number;
    endedAtMs?: number;
    dropped?: number;
    error?: string;
  }[];
  /** Messages per second delivered in the measured window. */
  deliveriesPerSec: number;
  /**
   * Per server instance (in start order), when the run started more than
   * one: the spread a router makes. Absent in results before rtbench measured it.
   */
  instances?: InstanceLoad | null;
  /** max / mean of each per-instance figure: 1 is even; null with one instance. */
  imbalance?: Imbalance | null;
  /** Churn: a client coming back -> the last message it missed arrived; null without churn. */
  catchUp?: HistogramSummary | null;
  /** What the broker did in the window; null where rtbench cannot read it (a target). */
  broker?: BrokerCost | null;
  /** Presence events (joins, leaves) received per second in the window, over all subscribers. */
  presenceEventsPerSec?: number | null;
  /** Presence events: the server saw the join or leave -> a subscriber received it. */
  presenceEventLatency?: HistogramSummary | null;
  /** Presence lists against the clients rtbench knows; null when not sampled. */
  presence?: PresenceAccuracy | null;
}

export interface InstanceLoad {
  /** Clients connected to each instance when the measured window started. */
  connections: number[];
  /** Deliveries of messages scheduled in the window, by the instance they came through. */
  deliveries: number[];
  /** CPU seconds each instance spent in the window; null where it could not be sampled. */
  cpuSeconds: (number | null)[];
}

export interface Imbalance {
  connections: number | null;
  deliveries: number | null;
  cpuSeconds: number | null;
}

export interface BrokerCost {
  /** Operations in the window, all kinds (Redis commands, scripts' own commands included). */
  operations: number;
  /** ÷ messages published (acknowledged) in the window. */
  operationsPerMessage: number | null;
  /** Operations in the window by kind: Redis command, or memory broker operation. */
  byKind: Record<string, number>;
}

export interface PresenceAccuracy {
  /** Presence lists sampled (one channel each). */
  samples: number;
  /** (user, sample) pairs listed, of rtbench's own users. */
  listed: number;
  /** Listed, but gone (left, or frozen) for the whole sample. */
  ghosts: number;
  ghostShare: number | null;
  /** (user, sample) pairs where the user was connected throughout. */
  connected: number;
  /** Connected throughout, but not listed. */
  missing: number;
  missingShare: number | null;
  /** A client leaving (or freezing) -> the first sample without it. */
  staleness: HistogramSummary;
  /** Leaves after which the user came back, or the run ended, before it disappeared. */
  censored: number;
}
