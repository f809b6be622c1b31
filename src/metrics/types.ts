import type { BrokerKind } from "../shared/brokers.js";
import type { ProtocolName } from "../shared/transports.js";
import type { ResultCounters } from "./counters.js";
import type { ProcessLoad } from "./process-load.js";
import type { ProtocolTimeline } from "./protocol-timeline.js";

/**
 * What a run's load was, apart from how it is labelled and judged: the
 * normalised scenario's workload fields, so a baseline is compared by them.
 */
export interface Workload {
  /** SHA-256 of the fields as canonical JSON (sorted keys). */
  sha256: string;
  /** Every workload field by path (`clients.count`, `faults[0].atMs`) with its value. */
  fields: Record<string, unknown>;
}

/**
 * The result file: a public contract (schema/result.schema.json) read by CI
 * scripts and `rtbench compare`. Renaming a field needs a new schemaVersion.
 * Times are milliseconds (floats), sizes bytes.
 */
export const RESULT_SCHEMA_VERSION = 1;

export interface RunResult {
  schemaVersion: number;
  tool: { name: "rtbench"; version: string };
  scenario: {
    name: string;
    file: string | null;
    sha256: string | null;
    /** The scenario file's text; absent in results written before rtbench recorded it. */
    text?: string | null;
    /**
     * What defines the workload (src/scenario/workload.ts): a baseline is
     * compared when this matches, whatever comments or thresholds changed.
     * Absent in results written before rtbench recorded it.
     */
    workload?: Workload;
  };
  environment: {
    node: string;
    cpus: number;
    cpuModel: string;
    os: string;
    gitCommit: string | null;
  };
  startedAt: string;
  finishedAt: string;
  /**
   * `partial` when the run was interrupted (Ctrl-C, crash) and holds what was
   * measured so far; `invalid` when a protocol measured nothing (no client
   * connected, nothing expected, a shard died: see its `invalidReasons`).
   */
  status: "complete" | "partial" | "failed" | "invalid";
  /** Why the run failed (status "failed"). */
  error?: string;
  /** False if any protocol's generator was unhealthy: its numbers are not trustworthy. */
  reliable: boolean;
  /** True if any protocol found the server saturated (a finding, see `saturation.server`). */
  saturated?: boolean;
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
    /** The target's protocol (reference, nchan, socketio, custom); absent without a target. */
    targetProtocol?: string;
    /** The command rtbench started the target with; null for a running target. */
    targetCommand?: string | null;
    /**
     * False when the target does not acknowledge publishes: each counts as
     * sent once written, and `publishFailed` is null (not known).
     */
    publishAcknowledged?: boolean;
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
 * The fields the registered measures add to a protocol's result: each
 * measure's file (src/measures/) adds its own fragment here by declaration
 * merging (`declare module "../metrics/types.js"`), so a new measure needs
 * no edit of this file.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the measures' declaration merging
export interface MeasureResults {}

/**
 * One protocol's numbers. The clients' counters (duplicates, reordered,
 * breaks, ...) come from metrics/counters.ts, which describes each; the
 * measures' fields from src/measures/ (MeasureResults).
 */
export interface ProtocolResult extends ResultCounters, MeasureResults {
  /**
   * `invalid` when nothing was measured (no client connected, nothing was
   * expected, or a shard died) or more than `clients.maxNeverConnectedShare`
   * of the clients never connected. Every threshold on it fails. Absent in
   * results written before it existed (read as measured).
   */
  status?: "measured" | "invalid";
  /** Why it is invalid, in the words of the errors seen (the shard's own included). */
  invalidReasons?: string[];
  clients: number;
  /** Clients that became ready at least once. */
  connected: number;
  /**
   * Messages scheduled in the measured window that the server stored: it
   * acknowledged them (in time or late), or a subscriber received them.
   */
  published: number;
  /**
   * Messages scheduled in the window that were refused or never acknowledged
   * (5 s); null when the target does not acknowledge publishes.
   */
  publishFailed: number | null;
  /**
   * Per subscriber, the stored messages of its channel scheduled in the
   * window and sent after it was first ready (load/result/aggregate.ts).
   */
  expected: number;
  /** Expected messages received at least once: delivered + lost = expected. */
  delivered: number;
  lost: number;
  /**
   * Only in a partial result: deliveries outstanding for messages scheduled
   * within the drain time before the interrupt (no time to arrive: not lost).
   */
  inFlightAtInterrupt?: number;
  latency: HistogramSummary;
  latencyFromSend: HistogramSummary;
  connect: HistogramSummary;
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
   * Who saturated, with the evidence. `generator.saturated` makes the run
   * UNRELIABLE (the numbers may be rtbench's); `server.saturated` is a
   * finding about the server (SATURATED). Absent in older results.
   */
  saturation?: {
    generator: { saturated: boolean; reasons: string[] };
    server: { saturated: boolean; reasons: string[] };
    /**
     * The shard plan, from the expected work (load/shards/shard-plan.ts): cores'
     * worth of client and server work, busy processes, and the warning given
     * up front when this machine could not hold the run.
     */
    plan?: ShardPlan;
    /** CPU and event-loop load of every process: publisher (parent), shards, servers started. */
    processes: ProcessLoad[];
    /** Expected deliveries per second over the window: the rate a server keeping up delivers at. */
    expectedPerSecond: number | null;
  };
  /** The run second by second. Absent in results written before rtbench recorded it. */
  timeline?: ProtocolTimeline;
}

/** How a run spreads its clients over shard processes (load/shards/shard-plan.ts plans it). */
export interface ShardPlan {
  shards: number;
  /** Cores' worth of CPU the clients' work needs, over all shards. */
  clientCores: number;
  /** Cores' worth the servers rtbench starts need, over all instances (estimated). */
  serverCores: number;
  cores: number;
  /** Processes expected to use a quarter of a core or more. */
  busyProcesses: number;
  /** Why this machine cannot hold the run, said before it starts; null when it can. */
  warning: string | null;
}
