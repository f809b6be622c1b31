import { splitRunKey } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import {
  isToleranceKey,
  type MetricSelector,
  parseMetricSelector,
} from "../scenario/comparison.js";
import type { ThresholdMap } from "../scenario/thresholds.js";
import type { Scenario } from "../scenario/types.js";
import { formatDuration } from "../scenario/units.js";
import { badInput } from "../shared/errors.js";
import {
  type ComparedResult,
  type CompareOptions,
  type Comparison,
  type ComparisonRow,
  compareResults,
  parseTolerance,
} from "./compare.js";
import type { RepeatRecord } from "./repeat.js";
import { checkSameWorkload } from "./same-workload.js";
import { evaluateThresholds, type ThresholdOutcome } from "./thresholds.js";

/**
 * The CI gate of one run: threshold outcomes and the comparison
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

/** A result as `rtbench run` writes it: `gate` and `repeat` are additive, schemaVersion stays 1. */
export type GatedResult = RunResult & { gate?: GateRecord; repeat?: RepeatRecord };

export interface GateInput {
  thresholds: ThresholdMap;
  baseline?: { file: string; result: ComparedResult };
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

/**
 * Checks a baseline against the scenario about to run, so that a baseline
 * that cannot be compared fails (exit 2) before minutes of load, not after.
 * Returns warnings for differences that make numbers less comparable.
 */
export function checkBaselineFor(scenario: Scenario, baseline: RunResult, file: string): string[] {
  const { source } = scenario;
  const warnings = checkSameWorkload({
    baseline: baseline.scenario,
    current: {
      name: scenario.name,
      file: source.file,
      sha256: source.sha256,
      text: source.text ?? null,
      ...(source.workload ? { workload: source.workload } : {}),
    },
    baselineFile: file,
    refusal: `${file}: expected a baseline of ${source.file ?? scenario.name}`,
  });
  const setup = baseline.setup;
  if (setup.durationMs !== scenario.durationMs) {
    warnings.push(
      `baseline ran for ${formatDuration(setup.durationMs)}, this run for ${formatDuration(scenario.durationMs)} (--duration?): counts differ and timings may too`,
    );
  }
  // Partial overlap is reported by compareResults; no overlap would pass vacuously.
  // Keys may carry a variant (`websocket@sticky`): the protocol is what must match.
  const baselineProtocols = Object.keys(baseline.protocols).map((key) => splitRunKey(key).protocol);
  if (!scenario.protocols.some((p) => baselineProtocols.includes(p))) {
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

/**
 * `--judge` flags (`latency.p95`, `websocket.latency.max`, comma-separated
 * or repeated): metrics judged besides the headline ones.
 */
/** `--timing-floor MS`: timing changes below it never regress. */
export function parseTimingFloor(text: string): number {
  const ms = Number(text);
  if (!Number.isFinite(ms) || ms < 0) {
    throw badInput(`--timing-floor: expected a number of milliseconds >= 0, found "${text}"`);
  }
  return ms;
}

export function parseJudgeFlags(flags: readonly string[]): MetricSelector[] {
  const selectors: MetricSelector[] = [];
  for (const entry of flags.flatMap((flag) => flag.split(","))) {
    const text = entry.trim();
    if (text === "") continue;
    const selector = parseMetricSelector(text);
    if (typeof selector === "string") throw badInput(`--judge: ${selector}`);
    selectors.push(selector);
  }
  return selectors;
}
