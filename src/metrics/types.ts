import type { ProtocolName } from "../shared/protocol.js";

/**
 * The result file (design.md, "Result file"): a public contract read by CI
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
    broker: "memory" | "redis" | "external";
    instances: number;
    target: string[] | null;
    durationMs: number;
    warmupMs: number;
    clients: number;
    channels: number;
    ratePerSec: number;
    payloadBytes: number;
    notes: string[];
  };
  protocols: Partial<Record<ProtocolName, ProtocolResult>>;
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

export interface ProtocolResult {
  clients: number;
  /** Clients that became ready at least once. */
  connected: number;
  /** Messages scheduled in the measured window that the server acknowledged. */
  published: number;
  /** Messages scheduled in the window that were refused or never acknowledged (5 s). */
  publishFailed: number;
  /** Per subscriber, the acknowledged messages of its channel it should receive (design.md). */
  expected: number;
  /** Expected messages received at least once: delivered + lost = expected. */
  delivered: number;
  lost: number;
  /**
   * Only in a partial result: deliveries outstanding for messages scheduled
   * within the drain time before the interrupt (no time to arrive: not lost).
   */
  inFlightAtInterrupt?: number;
  /** Extra copies received by one subscriber. */
  duplicates: number;
  reordered: number;
  latency: HistogramSummary;
  latencyFromSend: HistogramSummary;
  connect: HistogramSummary;
  bytesPerDelivery: number | null;
  /** HTTP requests the subscribers sent in the measured window (WebSocket: upgrades). */
  requests: number;
  requestsPerDelivery: number | null;
  emptyPollShare: number | null;
  server: { cpuSecondsPer1kDeliveries: number | null; rssBytesPerConnection: number | null };
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
  /** Connection attempts that failed (each is retried). */
  connectFailures: number;
  /** Connections that broke after they were ready. */
  breaks: number;
  /** Breaks noticed -> ready again, backoff included. */
  reconnect: HistogramSummary;
  /** Per subscriber and break: last message before it -> first message after it. */
  outage: HistogramSummary;
  /** Successful reconnects (= reconnect.count). */
  reconnects: number;
  /** Connection attempts after a break, successful or not. */
  reconnectAttempts: number;
  attemptsPerReconnect: number | null;
  /** Reconnect attempts that failed (each is retried until maxRetries). */
  failedReconnects: number;
  /** Clients whose connection was broken when the run ended. */
  neverReconnected: number;
  /** Breaks noticed by the client-side heartbeat watchdog (silence), a subset of `breaks`. */
  watchdogBreaks: number;
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
}
