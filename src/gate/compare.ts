import { encodeHistogram, mergeHistograms } from "../metrics/histogram.js";
import {
  findMetric,
  getProtocolMetric,
  isProtocolName,
  listMetrics,
  type MetricInfo,
  type MetricKind,
  type MetricUnit,
  splitMetricName,
} from "../metrics/names.js";
import { orderRunKeys } from "../metrics/run-keys.js";
import type { HistogramSummary, ProtocolResult, RunResult } from "../metrics/types.js";
import { badInput } from "../shared/errors.js";
import type { ProtocolName } from "../shared/transports.js";

export type Verdict = "ok" | "better" | "worse" | "regressed";

export interface ComparisonRow {
  /** Full name, e.g. `websocket.latency.p99`. */
  metric: string;
  protocol: ProtocolName;
  unit: MetricUnit;
  kind: MetricKind;
  baseline: number | null;
  current: number | null;
  /** (current - baseline) / baseline in percent; null when the baseline is 0 or a side is missing. */
  changePct: number | null;
  verdict: Verdict;
}

export interface Comparison {
  scenario: string;
  rows: ComparisonRow[];
  /** Rows whose verdict is "regressed". */
  regressions: ComparisonRow[];
  warnings: string[];
}

/**
 * Relative tolerances as fractions (0.1 = 10%), by kind (`timing`, `rate`),
 * by metric path (`latency.p99`) or by full name (`websocket.latency.p99`);
 * the most specific wins. Exact metrics ignore tolerances: one more lost
 * message is a regression.
 */
export interface CompareOptions {
  tolerances?: Record<string, number>;
  /** Timing changes smaller than this never regress (0.3 -> 0.5 ms is noise). */
  timingFloorMs?: number;
}

export const DEFAULT_TOLERANCES: Readonly<Record<"timing" | "rate", number>> = {
  timing: 0.1,
  rate: 0.1,
};
export const DEFAULT_TIMING_FLOOR_MS = 1;

function toleranceFor(
  metric: MetricInfo,
  name: string,
  tolerances: Record<string, number> | undefined,
): number {
  const fromOptions =
    tolerances?.[name] ?? tolerances?.[metric.path] ?? tolerances?.[metric.kind] ?? undefined;
  if (fromOptions !== undefined) return fromOptions;
  return metric.kind === "timing" || metric.kind === "rate" ? DEFAULT_TOLERANCES[metric.kind] : 0;
}

function changePct(baseline: number, current: number): number | null {
  if (baseline === current) return 0;
  if (baseline === 0) return null;
  return ((current - baseline) / Math.abs(baseline)) * 100;
}

function judge(
  metric: MetricInfo,
  baseline: number,
  current: number,
  tolerance: number,
  timingFloorMs: number,
): Verdict {
  if (baseline === current || metric.better === null) return "ok";
  // Positive means "worse", whichever direction is better for this metric.
  const worsening = metric.better === "lower" ? current - baseline : baseline - current;
  if (metric.kind === "count") return worsening > 0 ? "worse" : "better";
  if (metric.kind === "exact") return worsening > 0 ? "regressed" : "better";
  let allowed = tolerance * Math.abs(baseline);
  if (metric.kind === "timing") allowed = Math.max(allowed, timingFloorMs);
  if (worsening > allowed) return "regressed";
  if (-worsening > allowed) return "better";
  return "ok";
}

function environmentWarnings(baseline: RunResult, current: RunResult): string[] {
  const warnings: string[] = [];
  const b = baseline.environment;
  const c = current.environment;
  const fields = [
    ["CPU model", b.cpuModel, c.cpuModel],
    ["CPU count", b.cpus, c.cpus],
    ["OS", b.os, c.os],
  ] as const;
  for (const [label, before, after] of fields) {
    if (before !== after) {
      warnings.push(
        `${label} differs (baseline ${String(before)}, current ${String(after)}): timings may not be comparable`,
      );
    }
  }
  for (const [label, result] of [
    ["baseline", baseline],
    ["current", current],
  ] as const) {
    if (!result.reliable) {
      warnings.push(
        `${label} is marked unreliable (generator overloaded): its numbers may be distorted`,
      );
    }
    if (result.status !== "complete") {
      warnings.push(`${label} is a ${result.status} result: it holds only part of a run`);
    }
  }
  return warnings;
}

function assertComparable(baseline: RunResult, current: RunResult): string[] {
  if (baseline.schemaVersion !== current.schemaVersion) {
    throw badInput(
      `cannot compare results with different schemaVersion (baseline ${baseline.schemaVersion}, current ${current.schemaVersion})`,
    );
  }
  const b = baseline.scenario.sha256;
  const c = current.scenario.sha256;
  if (b !== null && c !== null && b !== c) {
    throw badInput("cannot compare results of different scenarios (scenario.sha256 differs)", [
      `baseline: ${baseline.scenario.name} ${b}`,
      `current:  ${current.scenario.name} ${c}`,
    ]);
  }
  if (b === null || c === null) {
    return ["a result has no scenario.sha256: cannot verify both ran the same scenario"];
  }
  return [];
}

/**
 * Compares two runs metric by metric (design.md, "Result file"). Refuses
 * (BAD_INPUT) results of different scenarios or schema versions; warns when
 * the machines differ or a result is unreliable or partial.
 */
export function compareResults(
  baseline: RunResult,
  current: RunResult,
  options: CompareOptions = {},
): Comparison {
  const warnings = assertComparable(baseline, current);
  warnings.push(...environmentWarnings(baseline, current));
  const timingFloorMs = options.timingFloorMs ?? DEFAULT_TIMING_FLOOR_MS;
  const rows: ComparisonRow[] = [];
  const protocols = orderRunKeys([
    ...Object.keys(baseline.protocols),
    ...Object.keys(current.protocols),
  ]);
  for (const protocol of protocols) {
    const before = baseline.protocols[protocol];
    const after = current.protocols[protocol];
    if (before === undefined && after === undefined) continue;
    if (before === undefined || after === undefined) {
      warnings.push(
        `${protocol} is only in the ${before === undefined ? "current" : "baseline"} result: not compared`,
      );
      continue;
    }
    for (const metric of listMetrics()) {
      const name = `${protocol}.${metric.path}`;
      const b = getProtocolMetric(before, metric.path);
      const c = getProtocolMetric(after, metric.path);
      if (b === null && c === null) continue;
      const verdict =
        b === null || c === null
          ? "ok"
          : judge(metric, b, c, toleranceFor(metric, name, options.tolerances), timingFloorMs);
      rows.push({
        metric: name,
        protocol,
        unit: metric.unit,
        kind: metric.kind,
        baseline: b,
        current: c,
        changePct: b === null || c === null ? null : changePct(b, c),
        verdict,
      });
    }
  }
  return {
    scenario: current.scenario.name,
    rows,
    regressions: rows.filter((row) => row.verdict === "regressed"),
    warnings,
  };
}

/**
 * Parses a `--tolerance` flag value: `timing=10%`, `rate=0.05`,
 * `websocket.latency.p99=25%`. Returns [key, fraction].
 */
export function parseTolerance(text: string): [string, number] {
  const match = /^\s*([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)(%?)\s*$/.exec(text);
  if (!match) {
    throw badInput(
      `--tolerance: expected KEY=PERCENT like "timing=10%" or "websocket.latency.p99=25%", found "${text}"`,
    );
  }
  const key = match[1] as string;
  const value = Number(match[2]) / (match[3] === "%" ? 100 : 1);
  return [key, value];
}

/**
 * A tolerance applies to a kind (timing, rate), a metric (latency.p99) or a
 * full metric name (websocket.latency.p99).
 */
export function isToleranceKey(key: string): boolean {
  if (key === "timing" || key === "rate" || findMetric(key) !== undefined) return true;
  const { protocol, path } = splitMetricName(key);
  return isProtocolName(protocol) && findMetric(path) !== undefined;
}

// ---- repeated runs ----

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface MedianResult {
  /** The first run with every metric replaced by its median across runs. */
  result: RunResult;
  /** Per full metric name (`websocket.latency.p99`): median and range across runs. */
  spread: Record<string, Spread>;
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
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
const STATUS_RANK: Record<RunResult["status"], number> = { complete: 0, partial: 1, failed: 2 };

/**
 * For `--repeat N`: per metric median across runs plus the spread (min, max).
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
        .filter((v): v is number => v !== null)
        .sort((a, b) => a - b);
      if (values.length === 0) continue;
      const m = median(values);
      setPath(target, metric.path, m);
      spread[`${protocol}.${metric.path}`] = {
        median: m,
        min: values[0] as number,
        max: values[values.length - 1] as number,
        runs: values.length,
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
