import { getProtocolMetric, listMetrics } from "../measures/names.js";
import { encodeHistogram, mergeHistograms } from "../metrics/histogram.js";
import { orderRunKeys } from "../metrics/run-keys.js";
import type { HistogramSummary, ProtocolResult, RunResult } from "../metrics/types.js";
import { badInput } from "../shared/errors.js";
import { assertComparable } from "./same-workload.js";
import { median } from "./stats.js";

/**
 * `--repeat N`: N runs of one scenario combined into one result, each metric
 * the median of its runs, with every run's value kept so that a later
 * comparison can test the difference instead of trusting one number.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
  /** The value of each run, in run order (results of older versions lack it). */
  values?: number[];
}

/** In the median result of `--repeat N`: which runs it combines and how far they spread. */
export interface RepeatRecord {
  runs: number;
  files: string[];
  spread: Record<string, Spread>;
}

export interface MedianResult {
  /** The first run with every metric replaced by its median across runs. */
  result: RunResult;
  /** Per full metric name (`websocket.latency.p99`): median and range across runs. */
  spread: Record<string, Spread>;
}

function setPath(target: ProtocolResult, path: string, value: number): void {
  const keys = path.split(".");
  let node = target as unknown as Record<string, unknown>;
  for (let i = 0; i < keys.length - 1; i++) {
    node = node[keys[i] as string] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

const HISTOGRAM_KEYS = ["latency", "latencyFromSend", "connect"] as const;
const STATUS_RANK: Record<RunResult["status"], number> = {
  complete: 0,
  partial: 1,
  invalid: 2,
  failed: 3,
};

/**
 * For `--repeat N`: per metric median across runs plus the spread (min, max
 * and every run's value).
 * Each histogram's `hdr` becomes all runs merged (for later merging), while
 * its summary numbers are the per-run medians; status and reliability take
 * the worst run.
 */
export function medianResult(results: readonly RunResult[]): MedianResult {
  const first = results[0];
  if (first === undefined) throw badInput("medianResult: no results to combine");
  for (const other of results.slice(1)) assertComparable(first, other);

  const result = structuredClone(first) as RunResult;
  const spread: Record<string, Spread> = {};
  for (const protocol of orderRunKeys(Object.keys(result.protocols))) {
    const target = result.protocols[protocol];
    if (target === undefined) continue;
    const runs = results
      .map((r) => r.protocols[protocol])
      .filter((p): p is ProtocolResult => p !== undefined);
    for (const metric of listMetrics()) {
      const values = runs
        .map((p) => getProtocolMetric(p, metric.path))
        .filter((v): v is number => v !== null);
      if (values.length === 0) continue;
      const m = median(values);
      setPath(target, metric.path, m);
      spread[`${protocol}.${metric.path}`] = {
        median: m,
        min: Math.min(...values),
        max: Math.max(...values),
        runs: values.length,
        values,
      };
    }
    for (const key of HISTOGRAM_KEYS) {
      (target[key] as HistogramSummary).hdr = encodeHistogram(
        mergeHistograms(runs.map((p) => p[key].hdr)),
      );
    }
    target.generator.reliable = runs.every((p) => p.generator.reliable);
  }
  result.reliable = results.every((r) => r.reliable);
  result.status = results.reduce<RunResult["status"]>(
    (worst, r) => (STATUS_RANK[r.status] > STATUS_RANK[worst] ? r.status : worst),
    "complete",
  );
  result.setup.notes = [...result.setup.notes, `median of ${results.length} runs`];
  return { result, spread };
}
