import type { RunResult } from "../metrics/types.js";
import { formatChange, formatValue } from "../report/format.js";
import type { Scenario } from "../scenario/types.js";
import { formatDuration } from "../scenario/units.js";
import { badInput } from "../shared/errors.js";
import {
  type CompareOptions,
  type Comparison,
  type ComparisonRow,
  compareResults,
  isToleranceKey,
  parseTolerance,
  type Spread,
} from "./compare.js";
import { evaluateThresholds, type ThresholdMap, type ThresholdOutcome } from "./thresholds.js";

/**
 * The CI gate of one run (issue 5): threshold outcomes and the comparison
 * with a baseline, as stored in the result JSON under `gate`. `passed` is
 * false when a threshold failed or a metric regressed (exit 1).
 */
export interface GateRecord {
  passed: boolean;
  thresholds?: { passed: boolean; outcomes: ThresholdOutcome[] };
  comparison?: {
    baseline: string;
    passed: boolean;
    rows: ComparisonRow[];
    warnings: string[];
  };
}

/** In the median result of `--repeat N`: which runs it combines and how far they spread. */
export interface RepeatRecord {
  runs: number;
  files: string[];
  spread: Record<string, Spread>;
}

/** A result as `rtbench run` writes it: `gate` and `repeat` are additive, schemaVersion stays 1. */
export type GatedResult = RunResult & { gate?: GateRecord; repeat?: RepeatRecord };

export interface GateInput {
  thresholds: ThresholdMap;
  baseline?: { file: string; result: RunResult };
  compare?: CompareOptions;
}

export interface GateOutcome {
  record: GateRecord;
  /** For the reporters; null when that part of the gate was not asked for. */
  outcomes: ThresholdOutcome[] | null;
  comparison: Comparison | null;
}

export function evaluateGate(result: RunResult, input: GateInput): GateOutcome {
  const record: GateRecord = { passed: true };
  let outcomes: ThresholdOutcome[] | null = null;
  let comparison: Comparison | null = null;
  if (Object.keys(input.thresholds).length > 0) {
    outcomes = evaluateThresholds(input.thresholds, result);
    const passed = outcomes.every((o) => o.pass);
    record.thresholds = { passed, outcomes };
    record.passed &&= passed;
  }
  if (input.baseline !== undefined) {
    comparison = compareResults(input.baseline.result, result, input.compare);
    const passed = comparison.regressions.length === 0;
    record.comparison = {
      baseline: input.baseline.file,
      passed,
      rows: comparison.rows,
      warnings: comparison.warnings,
    };
    record.passed &&= passed;
  }
  return { record, outcomes, comparison };
}

const MAX_DETAIL_LINES = 12;

function capped(lines: string[], seeAbove: string): string[] {
  if (lines.length <= MAX_DETAIL_LINES) return lines;
  return [
    ...lines.slice(0, MAX_DETAIL_LINES),
    `... and ${lines.length - MAX_DETAIL_LINES} more (see the ${seeAbove} above)`,
  ];
}

/** One line per regressed metric: `websocket.latency.p99: 2.1 ms -> 9.8 ms (+367%)`. */
export function regressionLines(regressions: readonly ComparisonRow[]): string[] {
  const lines = regressions.map((r) => {
    const change = formatChange(r);
    return `${r.metric}: ${formatValue(r.baseline, r.unit)} -> ${formatValue(r.current, r.unit)}${change === "" ? "" : ` (${change})`}`;
  });
  return capped(lines, "table");
}

/** One line per failed threshold: `websocket.latency.p99: 5.39 ms, expected < 1ms`. */
export function thresholdFailureLines(outcomes: readonly ThresholdOutcome[]): string[] {
  const lines = outcomes
    .filter((o) => !o.pass)
    .map((o) => `${o.metric}: ${o.note ?? formatValue(o.actual, o.unit)}, expected ${o.condition}`);
  return capped(lines, "threshold table");
}

/**
 * Checks a baseline against the scenario about to run, so that a baseline
 * that cannot be compared fails (exit 2) before minutes of load, not after.
 * Returns warnings for differences that make numbers less comparable.
 */
export function checkBaselineFor(scenario: Scenario, baseline: RunResult, file: string): string[] {
  const expected = scenario.source.sha256;
  const found = baseline.scenario.sha256;
  if (expected !== null && found !== null && expected !== found) {
    throw badInput(
      `${file}: expected a baseline of ${scenario.source.file ?? scenario.name}, found a result of another scenario (scenario.sha256 differs)`,
      [`baseline: ${baseline.scenario.name} ${found}`, `scenario: ${scenario.name} ${expected}`],
    );
  }
  const warnings: string[] = [];
  if (found === null || expected === null) {
    warnings.push(`${file} has no scenario.sha256: cannot verify it ran the same scenario`);
  }
  const setup = baseline.setup;
  if (setup.durationMs !== scenario.durationMs) {
    warnings.push(
      `baseline ran for ${formatDuration(setup.durationMs)}, this run for ${formatDuration(scenario.durationMs)} (--duration?): counts differ and timings may too`,
    );
  }
  // Partial overlap is reported by compareResults; no overlap would pass vacuously.
  if (!scenario.protocols.some((p) => baseline.protocols[p] !== undefined)) {
    throw badInput(
      `${file}: expected a baseline with at least one of ${scenario.protocols.join(", ")}, found only ${Object.keys(baseline.protocols).join(", ") || "no protocol"}`,
    );
  }
  return warnings;
}

/**
 * `--tolerance` flags (`timing=10%`, `latency.p99=20%`,
 * `websocket.latency.p99=25%`) to CompareOptions.tolerances. An unknown key
 * is bad input: a misspelt tolerance would otherwise be silently ignored.
 */
export function parseTolerances(flags: readonly string[]): Record<string, number> {
  const tolerances: Record<string, number> = {};
  for (const flag of flags) {
    const [key, fraction] = parseTolerance(flag);
    if (!isToleranceKey(key)) {
      throw badInput(
        `--tolerance: expected timing, rate, a metric (latency.p99) or a full metric name (websocket.latency.p99) before "=", found "${key}" (see \`rtbench metrics\`)`,
      );
    }
    tolerances[key] = fraction;
  }
  return tolerances;
}
