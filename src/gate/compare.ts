import {
  getProtocolMetric,
  listMetrics,
  type MetricInfo,
  type MetricKind,
  type MetricUnit,
} from "../measures/names.js";
import { orderRunKeys } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import type { MetricSelector } from "../scenario/comparison.js";
import { formatDuration } from "../scenario/units.js";
import { badInput } from "../shared/errors.js";
import type { ProtocolName } from "../shared/transports.js";
import { isJudged } from "./judged.js";
import { noiseOf } from "./noise.js";
import type { RepeatRecord } from "./repeat.js";
import { assertComparable } from "./same-workload.js";
import { type Evidence, judgeRow, type Verdict } from "./verdict.js";

export type { Evidence, Verdict } from "./verdict.js";

export interface ComparisonRow {
  /** Full name, e.g. `websocket.latency.p99`. */
  metric: string;
  protocol: ProtocolName;
  unit: MetricUnit;
  kind: MetricKind;
  /** Which direction is an improvement; null for descriptive counts. */
  better: MetricInfo["better"];
  baseline: number | null;
  current: number | null;
  /** (current - baseline) / baseline in percent; null when the baseline is 0 or a side is missing. */
  changePct: number | null;
  /** Judged rows can regress; the others are shown, and at worst "worse". */
  judged: boolean;
  verdict: Verdict;
  /** How a judged row was decided; null for rows that are only shown. */
  evidence: Evidence | null;
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
  /** Metrics judged besides the headline ones (a scenario's `compare:`, `--judge`). */
  judge?: readonly MetricSelector[];
  /**
   * The two sides measured different servers on purpose (`rtbench ab`): their
   * `target` is not part of what must match, the rest of the workload is.
   */
  serversDiffer?: boolean;
}

/** A result as the gate reads it: `repeat` holds the per-run values of a `--repeat` median. */
export type ComparedResult = RunResult & { repeat?: RepeatRecord };

/**
 * Changes smaller than this many percent are floating-point residue (a
 * median of equal values recomputed: -0.0000000000000666 %), shown as 0.
 */
const NEGLIGIBLE_CHANGE_PCT = 1e-9;

export function changePct(baseline: number, current: number): number | null {
  if (baseline === current) return 0;
  if (baseline === 0) return null;
  const pct = ((current - baseline) / Math.abs(baseline)) * 100;
  return Math.abs(pct) < NEGLIGIBLE_CHANGE_PCT ? 0 : pct;
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
  const before = baseline.setup.durationMs;
  const after = current.setup.durationMs;
  if (before !== after) {
    warnings.push(
      `baseline ran for ${formatDuration(before)}, current for ${formatDuration(after)}: counts differ and timings may too`,
    );
  }
  return warnings;
}

function sideOf(result: ComparedResult) {
  return {
    spread: result.repeat?.spread,
    windowSeconds: (result.setup.durationMs - result.setup.warmupMs) / 1000,
  };
}

/**
 * Compares two runs metric by metric (design.md, "Result file"). Refuses
 * (BAD_INPUT) results of different scenarios or schema versions; warns when
 * the machines or durations differ or a result is unreliable or partial.
 * Only judged rows (the headline metrics and `options.judge`) can regress.
 */
export function compareResults(
  baseline: ComparedResult,
  current: ComparedResult,
  options: CompareOptions = {},
): Comparison {
  const warnings = assertComparable(baseline, current, options);
  warnings.push(...environmentWarnings(baseline, current));
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
      const b = noiseOf(before, protocol, metric.path, sideOf(baseline));
      const c = noiseOf(after, protocol, metric.path, sideOf(current));
      if (b === null && c === null) continue;
      const judged = isJudged(protocol, metric.path, options.judge ?? []);
      const { verdict, evidence } =
        b === null || c === null
          ? { verdict: "ok" as const, evidence: null }
          : judgeRow(metric, name, { b, c }, judged, options);
      rows.push({
        metric: name,
        protocol,
        unit: metric.unit,
        kind: metric.kind,
        better: metric.better,
        baseline: b?.value ?? getProtocolMetric(before, metric.path),
        current: c?.value ?? getProtocolMetric(after, metric.path),
        changePct: b === null || c === null ? null : changePct(b.value, c.value),
        judged,
        verdict,
        evidence,
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
