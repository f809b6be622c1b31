/**
 * One protocol's run in one-second buckets, from the start of ramp-up to the
 * end of drain: bucket i covers [i s, (i + 1) s) after ramp start, the time
 * base of `faults[].firedAtMs`. Column-oriented: one array per series, one
 * entry per bucket. Series marked "sums to" add up exactly to that total.
 */
export interface ProtocolTimeline {
  bucketMs: number;
  buckets: number;
  /** Where the phases begin, ms after ramp start (ramp-up itself begins at 0). */
  phases: {
    publishStartMs: number;
    measureStartMs: number;
    measureEndMs: number;
    drainEndMs: number;
  };
  /** Expected messages first received in that second: sums to `delivered`. */
  deliveries: number[];
  /**
   * Every message first received in that second, expected or not (warmup,
   * drain, sent before the subscriber was ready); absent in older results.
   */
  received?: number[];
  /** Delivery latencies recorded in that second (by receive time): sums to `latency.count`. */
  latencyCount: number[];
  /** Latency percentiles of that second's deliveries, ms; null for a second without any. */
  latencyP50: (number | null)[];
  latencyP90: (number | null)[];
  latencyP99: (number | null)[];
  latencyMax: (number | null)[];
  /** Clients ready at the end of the second. */
  connected: number[];
  /** The fewest clients ready at any moment in the second (summed over generator processes). */
  connectedMin: number[];
  /** Connection attempts started: first connects, retries and reconnects. */
  attempts: number[];
  /** Sums to `breaks`. */
  breaks: number[];
  /** Successful reconnects: sums to `reconnects`. */
  reconnects: number[];
  /** Subscribers' HTTP requests inside the measured window: sums to `requests`. */
  requests: number[];
  /** Subscribers' wire bytes inside the measured window (behind `bytesPerDelivery`). */
  bytesIn: number[];
  bytesOut: number[];
  /** Publishes sent, warmup included. */
  publishesSent: number[];
  /** Acknowledged publishes of the window, by second sent: sums to `published`. */
  published: number[];
  /** Failed or unanswered publishes of the window, by second sent: sums to `publishFailed`. */
  publishFailed: number[];
  /** Worst event-loop delay p99 of the generator's processes in that second, ms. */
  loopDelayP99Ms: (number | null)[];
  /** Per server instance rtbench started: CPU ms used in the second (1000 = one core) and RSS at its end. */
  servers: { instance: number; cpuMs: (number | null)[]; rssBytes: (number | null)[] }[];
}
