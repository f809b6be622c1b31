import type { Counters } from "../metrics/counters.js";
import type { ProcessLoad } from "../metrics/process-load.js";

/**
 * What a shard (a child process running a slice of the clients) reports
 * when it stops: the envelope every measure's shard side travels in.
 * Plain JSON, histograms encoded (metrics/histogram.ts), so it crosses the
 * process boundary as it is and merges losslessly in the parent. Times are
 * monotonic ms, which every process on the host shares (util/clock.ts).
 * The messages that carry it are in load/shards/shard-protocol.ts.
 */

/**
 * Publishes a shard counted as measured but the result does not (scheduled
 * after the end of a window an interrupt cut short), by channel:
 * `[channel, seqs]`. Empty for a run that ran to the end.
 */
export type UncountedPublishes = [channel: string, seqs: number[]][];

export interface SubscriberReport {
  channel: string;
  /** First time the client was ready, monotonic ms; null if it never was. */
  firstReadyMs: number | null;
  /** Received per-channel sequence numbers, as closed intervals [[lo, hi], ...]. */
  received: number[][];
  /** With clients.slow: whether this client is a slow one (absent without slow consumers). */
  slow?: boolean;
  /** With clients.slow, a fast client: its worst delivery latency in the window (ms). */
  worstLatencyMs?: number;
  /** With clients.slow, a slow client: when the server cut it (monotonic ms), null if never. */
  cutAtMs?: number | null;
  /** With clients.fallback: when its first attempt started (monotonic ms), null if it never tried. */
  fallbackStartMs?: number | null;
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
  /** The first frame or event that was not a message (its sample cut short), null when none was. */
  firstUnrecognised?: UnrecognisedFrame | null;
  /** With `logConnections`: when each client was connected. */
  connections?: ConnectionLog[];
  /** What each registered measure recorded (src/measures/), by measure name. */
  measures: Record<string, MeasurePart>;
}

/**
 * One measure's record in one shard: counts (summed over shards) and
 * timings (encoded HdrHistograms, merged as histograms), by the names the
 * measure declared.
 */
export interface MeasurePart {
  counts: Record<string, number>;
  timings: Record<string, string>;
}

/** One client's connected spans, monotonic ms: [ready, closed or broken], null while still open. */
export interface ConnectionLog {
  user: string;
  channel: string;
  spans: [number, number | null][];
}

/**
 * One shard's per-second series (load/fleet/fleet-timeline.ts says what each
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

/** Breaks listed one by one in a report; more are only counted. */
export const BREAK_LOG_LIMIT = 100_000;

/** How often one reason was seen, with the words of its first occurrence. */
export interface ReasonCount {
  reason: string;
  count: number;
  example: string;
}
