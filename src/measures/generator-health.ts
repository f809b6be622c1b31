import type { Measure } from "./measure.js";

/**
 * Health of the load generator itself: the worst event-loop delay p99 of
 * its processes (the parent and every shard), how far the publisher fell
 * behind its schedule, and the shards that died. `reliable` is the
 * saturation verdict's (ResultContext.saturation, reached before the
 * measures from the same load): false makes the run UNRELIABLE.
 */
export interface GeneratorHealthResult {
  /**
   * `reliable` is the saturation verdict's call on the generator: false when
   * `saturation.generator.saturated` (load/result/saturation.ts), whose
   * reasons say which limit tripped.
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
}

declare module "../metrics/types.js" {
  interface MeasureResults extends GeneratorHealthResult {}
}

export const generatorHealth: Measure<GeneratorHealthResult> = {
  name: "generator-health",
  description:
    "the generator's own health: event-loop delay p99 of its processes, publisher lag, missing shards, reliable or not",
  result: ({ generator, saturation, publisher, scenario, missing }) => ({
    generator: {
      eventLoopDelayP99: generator.eventLoopDelayP99Ms,
      reliable: !saturation.generator.saturated,
      processes: generator.processes,
      publisherMaxLagMs: publisher.maxLagMs,
      eventLoopDelayLimitMs: scenario.generator.maxEventLoopDelayMs,
      // Lost workers count as lost connections (workers.ts), not here.
      missingShards: missing.shards.length,
    },
  }),
  metrics: [
    {
      path: "generator.eventLoopDelayP99",
      unit: "ms",
      kind: "timing",
      better: "lower",
      description: "generator event-loop delay p99 (health)",
    },
    {
      path: "generator.publisherMaxLagMs",
      unit: "ms",
      kind: "timing",
      better: "lower",
      description: "how far the publisher fell behind its schedule, at worst",
    },
    {
      path: "generator.processes",
      unit: "count",
      kind: "count",
      better: null,
      description: "generator processes (shards)",
    },
  ],
  schema: {
    generator: {
      type: "object",
      required: ["eventLoopDelayP99", "reliable", "processes"],
      properties: {
        eventLoopDelayP99: { type: "number", minimum: 0 },
        reliable: { type: "boolean" },
        processes: { type: "integer", minimum: 0 },
        publisherMaxLagMs: { type: "number" },
        eventLoopDelayLimitMs: { type: "number" },
        missingShards: { type: "integer", minimum: 0 },
      },
    },
  },
  // After the traffic's rows and the servers' cost (both placed after "empty polls %").
  rows: {
    after: "empty polls %",
    rows: [{ label: "generator loop delay p99 ms", value: (p) => p.generator.eventLoopDelayP99 }],
  },
};
