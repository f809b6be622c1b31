import type { Counters } from "../metrics/counters.js";
import type { ReconnectPolicy } from "../scenario/types.js";
import type { ProtocolName, TransportSettings } from "../shared/transports.js";
import type { ClientAssignment } from "./assign.js";
import type { ChurnPlan } from "./churn.js";

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
  /** The transport's scenario settings, for its clients (passed through untouched). */
  settings: TransportSettings;
  /** Every server URL: a client whose instance is down reconnects to the next one. */
  urls: string[];
  reconnect: ReconnectPolicy;
  /** The server's heartbeat interval: the client watchdog waits `reconnect.watchdogIntervals` of them. */
  heartbeatIntervalMs: number;
  /** Seeds the backoff jitter and churn. */
  seed: number;
  /** Clients leaving and coming back (clients.churn); absent: none. */
  churn?: ChurnPlan | null;
  /** Log when each client was connected (presence sampling compares with it). */
  logConnections?: boolean;
}

/** Parent -> shard: stop the clients and report. */
export interface ShardFinish {
  type: "finish";
}

export type ParentMessage = ShardStart | ShardFinish;

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

export interface ShardReport {
  type: "report";
  subscribers: SubscriberReport[];
  /** Encoded HdrHistograms (see metrics/histogram.ts). */
  latency: string;
  latencyFromSend: string;
  connect: string;
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
  /**
   * Per server URL (index into `urls`): deliveries of messages scheduled in
   * the window, and clients connected there when the window started.
   */
  instances: { deliveries: number[]; connections: number[] };
  /** Churn: coming back -> the last message missed while away arrived (encoded). */
  catchUp: string;
  /** Presence events: the server's event time -> received (encoded; epoch clocks of one host). */
  presenceLatency: string;
  /** With `logConnections`: when each client was connected. */
  connections?: ConnectionLog[];
}

/** One client's connected spans, monotonic ms: [ready, closed or broken], null while still open. */
export interface ConnectionLog {
  user: string;
  channel: string;
  spans: [number, number | null][];
}

export type ShardMessage = ShardProgress | ShardReport;

/** Breaks listed one by one in a report; more are only counted. */
export const BREAK_LOG_LIMIT = 100_000;
