import type { HistogramSummary } from "../metrics/types.js";

/**
 * What a metric name is: a path into one protocol's result with its unit,
 * how `compare` and thresholds treat it, and its description. The catalogue
 * of every name is names.ts; a measure lists its own (measure.ts).
 */

export type MetricUnit = "ms" | "count" | "bytes" | "ratio" | "per-sec" | "cpu-s";

/**
 * - exact: counts that must match exactly (a single lost message is a regression);
 * - timing: durations, compared with a relative tolerance and an absolute floor;
 * - rate: costs and throughputs, compared with a relative tolerance;
 * - count: descriptive counts (clients, published), shown but never a regression.
 */
export type MetricKind = "exact" | "timing" | "rate" | "count";

export interface MetricInfo {
  /** Path inside one protocol's result, e.g. `latency.p99`. */
  path: string;
  unit: MetricUnit;
  kind: MetricKind;
  /** null when neither direction is better (clients, published). */
  better: "lower" | "higher" | null;
  description: string;
}

const HISTOGRAM_FIELDS = [
  ["min", "minimum"],
  ["mean", "mean"],
  ["p50", "median"],
  ["p90", "90th percentile"],
  ["p95", "95th percentile"],
  ["p99", "99th percentile"],
  ["p999", "99.9th percentile"],
  ["max", "maximum"],
] as const;

/**
 * One statistic of a histogram, for a table row (MeasureRow.value): null
 * ("n/a") when it holds no samples, as an empty histogram holds zeros by
 * contract and showing them would read as "0 ms". A histogram that is not
 * there (null or undefined) is passed on as it is: each row says which of
 * "n/a" and "-" that means for it.
 */
export function histogramStat(
  h: HistogramSummary | null | undefined,
  stat: keyof Omit<HistogramSummary, "hdr">,
): number | null | undefined {
  if (h === null || h === undefined) return h;
  return h.count === 0 ? null : h[stat];
}

/** The metrics of one histogram field (`name.count`, `name.p99`, ...), `what` describing its samples. */
export function histogramMetrics(name: string, what: string): MetricInfo[] {
  const metrics: MetricInfo[] = [
    {
      path: `${name}.count`,
      unit: "count",
      kind: "count",
      better: null,
      description: `${what}: number of samples`,
    },
  ];
  for (const [field, label] of HISTOGRAM_FIELDS) {
    metrics.push({
      path: `${name}.${field}`,
      unit: "ms",
      kind: "timing",
      better: "lower",
      description: `${what}, ${label}`,
    });
  }
  return metrics;
}
