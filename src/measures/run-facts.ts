import type { EdgeSamples } from "../run-model/server-sample.js";
import type { ReasonCount } from "../run-model/shard-report.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";

/**
 * The run's facts a measure's result reads besides the window's books
 * (ResultContext in measure.ts): the scenario's settings, how the publisher
 * kept its schedule, the breaks and returns, the servers and the instances,
 * each as load/result/result.ts hands them over.
 */

/**
 * The scenario as measures see it: the normalised scenario's settings they
 * read, by the scenario's own names (measures/ does not import scenario/,
 * whose thresholds import the metric names). A measure that reads another
 * setting adds it here; load/result/result.ts passes the whole scenario.
 */
export interface ScenarioView {
  clients: { slow: object | null; churn: object | null };
  /** The faults the scenario plans (what fired is `ResultContext.faults`). */
  faults: readonly { action: string }[];
  publish: { maxInFlight: number; ackTimeoutMs: number };
  server: { heartbeatIntervalMs: number };
  presence: { sampleIntervalMs: number };
  workers: { maxClockBoundMs: number };
  generator: { maxEventLoopDelayMs: number };
}

/** How the publisher kept its open-model schedule over the run. */
export interface PublisherFacts {
  /** How far the publisher's event loop woke late behind its schedule, at worst (ms). */
  maxLagMs: number;
  /** The most publishes waiting for an answer at once. */
  peakInFlight: number;
  /** How far sends fell behind schedule, at worst, because every slot waited for an answer (ms). */
  maxSlotWaitMs: number;
  /** Scheduled messages never sent. */
  notSent: number;
  /** Why publishes were refused, by reason (first few), with how often and the first error's words. */
  refusals: ReadonlyMap<string, { count: number; example: string }>;
}

/** The generator's own processes: the parent and the shards that reported. */
export interface GeneratorFacts {
  processes: number;
  /** The worst event-loop delay p99 among them (ms). */
  eventLoopDelayP99Ms: number;
}

/** Breaks and the returns from them, as the shards recorded them. */
export interface ReconnectFacts {
  /** Each shard's reconnect times (break noticed -> ready again), an encoded HdrHistogram. */
  reconnect: readonly string[];
  /** Each shard's outages (last message before a break -> first after it), encoded. */
  outage: readonly string[];
  /** Each shard's reconnect attempts per monotonic second (key: Math.floor(ms / 1000)). */
  attemptsPerSecond: readonly Readonly<Record<string, number>>[];
  /** Why ready connections broke, merged over shards, most frequent first. */
  breakReasons: readonly ReasonCount[];
}

/** What the parent knows of the servers under test (and of the proxy in front of them). */
export interface ServerFacts {
  /** CPU and memory of the servers rtbench started, every instance summed; null points: not sampled (a target). */
  samples: EdgeSamples;
  /** The proxy rtbench started in front of the instances (server.proxy), sampled at the same points; null: none. */
  proxy: { kind: "nginx" | "haproxy"; samples: EdgeSamples } | null;
  /** When the servers dropped a client for missing heartbeats (monotonic ms), as they said; empty when not asked. */
  zombieTimeoutsMs: readonly number[];
  /** When they cut a stream for its write timeout (monotonic ms), as they said; undefined: not asked. */
  writeTimeoutsMs: readonly number[] | undefined;
  /** What instance 0 said it runs with (`/healthz`), defaults resolved; null for a target. */
  settings: EffectiveServerSettings | null;
}

/** The server instances of a run, each by its index in start order (the clients' server URLs). */
export interface InstanceFacts {
  /** How many the clients were spread over. */
  count: number;
  /**
   * Each shard's counts per instance: clients connected there when the
   * window started, and deliveries of the window's messages through it.
   */
  shards: readonly { connections: readonly number[]; deliveries: readonly number[] }[];
}
