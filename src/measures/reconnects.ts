import { hadBreaks } from "../metrics/counters.js";
import { summarizeEncoded } from "../metrics/histogram.js";
import type { HistogramSummary } from "../metrics/types.js";
import type { ReasonCount } from "../run-model/shard-report.js";
import type { Measure, MeasureRow } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * How the clients came back from breaks: reconnect and outage times (each
 * shard's histograms, merged), attempts per successful reconnect, the
 * busiest second of attempts (the thundering herd), and why the ready
 * connections broke. The break and reconnect counters themselves are
 * counters (metrics/counters.ts); their rows sit between this measure's.
 */
export interface ReconnectsResult {
  /** Breaks noticed -> ready again, backoff included. */
  reconnect: HistogramSummary;
  /** Per subscriber and break: last message before it -> first message after it. */
  outage: HistogramSummary;
  /** Successful reconnects (= reconnect.count). */
  reconnects: number;
  attemptsPerReconnect: number | null;
  /** Highest number of reconnect attempts in one second over all clients: the thundering herd. */
  peakConnectAttemptsPerSec: number;
  /**
   * Why ready connections broke, most frequent first (the first few reasons
   * of each shard), with how often and the first break's words: "HTTP 503",
   * "SSE line longer than 16777216 characters (client bound)". Absent in
   * results written before rtbench recorded it.
   */
  breakReasons?: ReasonCount[];
}

declare module "../metrics/types.js" {
  interface MeasureResults extends ReconnectsResult {}
}

/** The busiest second of reconnect attempts, over every shard's per-second counts. */
function peakPerSecond(shards: readonly Readonly<Record<string, number>>[]): number {
  const perSecond = new Map<string, number>();
  for (const shard of shards) {
    for (const [second, count] of Object.entries(shard)) {
      perSecond.set(second, (perSecond.get(second) ?? 0) + count);
    }
  }
  return Math.max(0, ...perSecond.values());
}

const timingRow = (
  label: string,
  field: "reconnect" | "outage",
  at: "p50" | "p99",
): MeasureRow => ({
  label,
  value: (p) => histogramStat(p[field], at),
  when: hadBreaks,
});

export const reconnects: Measure<ReconnectsResult> = {
  name: "reconnects",
  description:
    "reconnect and outage times, attempts per reconnect, the busiest second of attempts, and why connections broke",
  result: ({ reconnects: shards, counters }) => {
    const reconnect = summarizeEncoded(shards.reconnect);
    return {
      breakReasons: [...shards.breakReasons],
      reconnect,
      outage: summarizeEncoded(shards.outage),
      reconnects: reconnect.count,
      attemptsPerReconnect:
        reconnect.count > 0 ? counters.reconnectAttempts / reconnect.count : null,
      peakConnectAttemptsPerSec: peakPerSecond(shards.attemptsPerSecond),
    };
  },
  metrics: [
    ...histogramMetrics(
      "reconnect",
      "reconnect time: break noticed -> ready again, backoff included",
    ),
    ...histogramMetrics("outage", "outage: last message before a break -> first message after it"),
    {
      path: "reconnects",
      unit: "count",
      kind: "count",
      better: null,
      description: "successful reconnects after a break",
    },
    {
      path: "attemptsPerReconnect",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description: "attempts per successful reconnect",
    },
    {
      path: "peakConnectAttemptsPerSec",
      unit: "per-sec",
      kind: "rate",
      better: "lower",
      description: "most reconnect attempts in one second (thundering herd)",
    },
  ],
  schema: {
    breakReasons: {
      description:
        "Why ready connections broke, most frequent first (each shard's first few reasons), with how often and the first break's words. Absent in older results.",
      type: "array",
      items: {
        type: "object",
        required: ["reason", "count", "example"],
        properties: {
          reason: { type: "string" },
          count: { type: "integer", minimum: 0 },
          example: { type: "string" },
        },
      },
    },
    reconnect: { $ref: "#/definitions/histogram" },
    outage: { $ref: "#/definitions/histogram" },
    reconnects: { type: "integer", minimum: 0 },
    attemptsPerReconnect: { type: ["number", "null"] },
    peakConnectAttemptsPerSec: { type: "number", minimum: 0 },
  },
  // Two places: the times after the break counters, the herd after the failed and lost reconnects.
  rows: [
    {
      after: "  noticed by watchdog",
      rows: [
        timingRow("reconnect p50 ms", "reconnect", "p50"),
        timingRow("reconnect p99 ms", "reconnect", "p99"),
        timingRow("outage p50 ms", "outage", "p50"),
        timingRow("outage p99 ms", "outage", "p99"),
        { label: "attempts per reconnect", value: (p) => p.attemptsPerReconnect, when: hadBreaks },
      ],
    },
    {
      after: "never reconnected",
      rows: [
        {
          label: "peak reconnects / s",
          value: (p) => p.peakConnectAttemptsPerSec,
          when: hadBreaks,
        },
      ],
    },
  ],
};
