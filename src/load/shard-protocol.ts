import type { ClientTlsSettings } from "../clients/tls.js";
import type { Counters } from "../metrics/counters.js";
import type { ProcessLoad } from "../metrics/process-load.js";
import type { ReconnectPolicy } from "../scenario/types.js";
import type { ProtocolName, TransportSettings } from "../shared/transports.js";
import type { TargetSpec } from "../targets/types.js";
import type { ClientAssignment } from "./assign.js";
import type { ChurnPlan } from "./churn.js";
import type { ReasonCount } from "./reason-tally.js";

/**
 * Messages between the parent and a shard (a child process running a slice
 * of the simulated clients). Times are monotonic ms, which every process on
 * the host shares (see util/clock.ts).
 */
export interface ShardStart {
  type: "start";
  protocol: ProtocolName;
  clients: ClientAssignment[];
  /** Total clients over all shards: client i connects at rampStartMs + i * rampUpMs / totalClients. */
  totalClients: number;
  rampStartMs: number;
  rampUpMs: number;
  /** Latency is recorded for messages scheduled in [measureStartMs, measureEndMs). */
  measureStartMs: number;
  measureEndMs: number;
  /** End of the drain: the per-second timeline runs from `rampStartMs` to here. */
  drainEndMs: number;
  /** The transport's scenario settings, for its clients (passed through untouched). */
  settings: TransportSettings;
  /** Every server URL: a client whose instance is down reconnects to the next one. */
  urls: string[];
  reconnect: ReconnectPolicy;
  /**
   * The server's heartbeat interval: the client watchdog waits
   * `reconnect.watchdogIntervals` of them (0: not known, no watchdog).
   */
  heartbeatIntervalMs: number;
  /** Seeds the backoff jitter and churn. */
  seed: number;
  /**
   * The target's protocol and wire when the server is not spoken to in the
   * reference protocol; absent or null: the transports' own clients.
   */
  target?: TargetSpec | null;
  /** Clients leaving and coming back (clients.churn); absent: none. */
  churn?: ChurnPlan | null;
  /** Log when each client was connected (presence sampling compares with it). */
  logConnections?: boolean;
  /** How clients speak TLS to https:// and wss:// servers (a CA's PEM, never a key); absent: defaults. */
  tls?: ClientTlsSettings | null;
}

/**
 * Publishes a shard counted as measured but the result does not (scheduled
 * after the end of a window an interrupt cut short), by channel:
 * `[channel, seqs]`. Empty for a run that ran to the end.
 */
export type UncountedPublishes = [channel: string, seqs: number[]][];

/** Parent -> shard: stop the clients and report. */
export interface ShardFinish {
  type: "finish";
  /** The shard says in which seconds it counted these as deliveries (fleet-timeline.ts). */
  uncounted: UncountedPublishes;
}

/**
 * Parent -> shard: on a worker, the coordinator's clock minus this host's
 * (workers/clock-sync.ts); the shard's clock follows it from then on.
 */
export interface ShardClock {
  type: "clock";
  offsetMs: number;
}

export type ParentMessage = ShardStart | ShardFinish | ShardClock;

export interface ShardProgress {
  type: "progress";
  open: number;
  received: number;
}

export interface SubscriberReport {
  channel: string;
  /** First time the client was ready, monotonic ms; null if it never was. */
  firstReadyMs: number | null;
  /** Received per-channel sequence numbers, as closed intervals [[lo, hi], ...]. */
  received: number[][];
}

/** Something a client received that its target protocol had no place for. */
export interface UnrecognisedFrame {
  /** Why it was not a message: `nothing at message.body "/body"`. */
  what: string;
  /** What arrived, as text, cut short. */
  frame: string;
}

export interface ShardReport {
  type: "report";
  subscribers: SubscriberReport[];
  /** Encoded HdrHistograms (see metrics/histogram.ts). */
  latency: string;
  latencyFromSend: string;
  connect: string;
  /** Every connection's TCP connect, TLS handshake and HTTP (to the first byte) times. */
  connectTcp: string;
  tlsHandshake: string;
  connectHttp: string;
  /** Break noticed -> ready again, and last message before -> first message after (encoded). */
  reconnect: string;
  outage: string;
  /** Every counter of metrics/counters.ts, for this shard's clients. */
  counters: Counters;
  /** Reconnect attempts per monotonic second (key: Math.floor(ms / 1000)). */
  attemptsPerSecond: Record<string, number>;
  /** When breaks were noticed and on which server URL (index into `urls`); at most BREAK_LOG_LIMIT. */
  breakLog: [atMs: number, urlIndex: number][];
  /**
   * Socket and request counters over the measured window, and the TCP
   * connections the clients held open when it ended.
   */
  window: {
    bytesIn: number;
    bytesOut: number;
    requests: number;
    emptyPolls: number;
    socketsOpen: number;
  };
  eventLoopDelayP99Ms: number;
  /** The shard process's CPU and event-loop utilisation; null when not sampled. */
  load: ProcessLoad | null;
  /** Why connection attempts failed, by reason (first few reasons), with the first error's words. */
  connectErrors: ReasonCount[];
  /** Why ready connections broke, by reason (first few reasons), with the first break's words. */
  breakReasons: ReasonCount[];
  timeline: ShardTimeline;
  /**
   * Per server URL (index into `urls`): deliveries of messages scheduled in
   * the window, and clients connected there when the window started.
   */
  instances: { deliveries: number[]; connections: number[] };
  /** Churn: coming back -> the last message missed while away arrived (encoded). */
  catchUp: string;
  /** Presence events: the server's event time -> received (encoded; epoch clocks of one host). */
  presenceLatency: string;
  /** The first frame or event that was not a message (its sample cut short), null when none was. */
  firstUnrecognised?: UnrecognisedFrame | null;
  /** With `logConnections`: when each client was connected. */
  connections?: ConnectionLog[];
}

/** One client's connected spans, monotonic ms: [ready, closed or broken], null while still open. */
export interface ConnectionLog {
  user: string;
  channel: string;
  spans: [number, number | null][];
}

/**
 * One shard's per-second series (load/fleet-timeline.ts says what each
 * counts); index i is second i from the start of ramp-up.
 */
export interface ShardTimeline {
  deliveries: number[];
  /** Every first receipt of a stamped message (fleet-timeline.ts). */
  received: number[];
  /** Encoded latency histogram per second; "" for a second without any. */
  latency: string[];
  breaks: number[];
  reconnects: number[];
  attempts: number[];
  connected: number[];
  connectedMin: number[];
  requests: number[];
  bytesIn: number[];
  bytesOut: number[];
  /** This process's event-loop delay p99 per second; null before it was measured. */
  loopDelayP99Ms: (number | null)[];
  /** For each uncounted publish the parent named: the seconds its receipts were counted in. */
  uncountedReceipts: [channel: string, seq: number, bucket: number, count: number][];
}

export type ShardMessage = ShardProgress | ShardReport;

/** Breaks listed one by one in a report; more are only counted. */
export const BREAK_LOG_LIMIT = 100_000;
