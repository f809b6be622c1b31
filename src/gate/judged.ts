import type { MetricInfo } from "../measures/names.js";
import { type MetricSelector, selects } from "../scenario/comparison.js";
import type { ProtocolName } from "../shared/transports.js";

/**
 * Which metrics the baseline gate judges, and how loosely. A gate that
 * judges every number fails on noise (the extremes of a few seconds of load
 * move by half between identical runs), so by default it judges a small set
 * of headline metrics per transport and shows the rest. Extremes (min, max,
 * p999) and rtbench's own health figures are never judged unless a
 * scenario's `compare:` list or `--judge` names them.
 */
export const HEADLINE_METRICS: readonly string[] = [
  "latency.p50",
  "latency.p99",
  "connect.p99",
  "lost",
  "duplicates",
  "reordered",
  "publishFailed",
  "bytesPerDelivery",
  "requestsPerDelivery",
  "server.cpuSecondsPer1kDeliveries",
];

export function isJudged(
  protocol: ProtocolName,
  path: string,
  extra: readonly MetricSelector[],
): boolean {
  return HEADLINE_METRICS.includes(path) || selects(extra, protocol, path);
}

/** Relative tolerances (0.1 = 10%) when neither a flag nor the scenario sets one. */
export const DEFAULT_TOLERANCES: Readonly<Record<"timing" | "rate", number>> = {
  timing: 0.1,
  rate: 0.1,
};

/**
 * Metrics that drift between sessions on one machine by more than any run
 * can show, with wider defaults. Between 10 unchanged quickstart runs on a
 * shared 2-core VM (other jobs coming and going), beyond each run's
 * sampling error: latency p99 moved by up to 37%, connect p99 (one burst of
 * connects at ramp-up) by 113%, server CPU per delivery by 53%; latency p50
 * stayed within its sampling error.
 */
const METRIC_DEFAULT_TOLERANCES: Readonly<Record<string, number>> = {
  "latency.p99": 0.5,
  "connect.p99": 1.5,
  "server.cpuSecondsPer1kDeliveries": 0.75,
};

export const DEFAULT_TIMING_FLOOR_MS = 1;

/**
 * Timings and rates whose noise one run shows by itself: the middle of the
 * delivery latency (sampled all through the window) and rates that do not
 * depend on timing. A tail (p99 is the 2nd worst of 200 connects), a burst
 * (every connect happens in the ramp-up) or CPU time moves with the
 * machine's load between runs by more than any single run can show; they
 * are judged when a side has per-run values (`--repeat`).
 */
const SINGLE_RUN_METRICS = new Set([
  "latency.p50",
  "latency.p90",
  "latencyFromSend.p50",
  "latencyFromSend.p90",
  "bytesPerDelivery",
  "requestsPerDelivery",
  "emptyPollShare",
]);

export function judgeableFromSingleRuns(path: string): boolean {
  return SINGLE_RUN_METRICS.has(path);
}

/**
 * The tolerance of one metric: the most specific of the given keys (full
 * name, metric path, kind), else its own default, else its kind's. Counts
 * never use one: one more lost message is a regression.
 */
export function toleranceFor(
  metric: MetricInfo,
  name: string,
  tolerances: Readonly<Record<string, number>> | undefined,
): number {
  const given = tolerances?.[name] ?? tolerances?.[metric.path] ?? tolerances?.[metric.kind];
  if (given !== undefined) return given;
  const own = METRIC_DEFAULT_TOLERANCES[metric.path];
  if (own !== undefined) return own;
  return metric.kind === "timing" || metric.kind === "rate" ? DEFAULT_TOLERANCES[metric.kind] : 0;
}

/**
 * The judged set and its tolerances in words, for `run --help` and
 * `compare --help`: written from the tables above, so the help cannot state
 * a tolerance the gate does not use.
 */
export function judgedHelpText(): string {
  const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`;
  const { timing, rate } = DEFAULT_TOLERANCES;
  const base =
    timing === rate ? percent(timing) : `timings ${percent(timing)}, rates ${percent(rate)}`;
  const own = Object.entries(METRIC_DEFAULT_TOLERANCES)
    .map(([path, fraction]) => `${path} ${percent(fraction)}`)
    .join(", ");
  return [
    `Judged by default per protocol: ${HEADLINE_METRICS.join(", ")}.`,
    "Counts regress on any increase; timings and rates only when worse beyond the",
    `tolerance (${base}; ${own}; timing changes under ${DEFAULT_TIMING_FLOOR_MS} ms never regress)`,
    "AND beyond the noise.",
  ].join(" ");
}

/** Help text wrapped at `width` columns, breaking between words. */
export function wrapWords(text: string, width = 84): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}
