import {
  findMetric,
  getProtocolMetric,
  isProtocolName,
  type MetricInfo,
  type MetricUnit,
  splitMetricName,
} from "../metrics/names.js";
import { orderRunKeys, splitRunKey } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import { formatPath, type Problem } from "../scenario/problem.js";
import { badInput } from "../shared/errors.js";
import { type ProtocolName, transportNames } from "../shared/transports.js";

/**
 * Pass/fail conditions on metrics, e.g. `websocket.latency.p99: "< 50ms"` or
 * `"*.lost": "== 0"` (every protocol in the result). A failed threshold makes
 * `rtbench run` exit 1 (design.md, "Exit codes").
 */
export type ThresholdMap = Record<string, unknown>;

export type Operator = "<" | "<=" | ">" | ">=" | "==" | "!=";

export interface Condition {
  op: Operator;
  /** In the metric's own unit (ms, count, bytes, ratio, per-sec, cpu-s). */
  value: number;
  /** As written, for reports. */
  text: string;
}

export interface ParsedThreshold {
  key: string;
  /** "*" means every protocol present in the result. */
  protocol: ProtocolName | "*";
  metric: MetricInfo;
  conditions: Condition[];
}

export interface ThresholdOutcome {
  /** Full metric name, e.g. `websocket.latency.p99`. */
  metric: string;
  condition: string;
  /** null when the metric was not measured. */
  actual: number | null;
  unit: MetricUnit;
  pass: boolean;
  /** Why a threshold failed without a comparison, e.g. "not measured". */
  note?: string;
}

const CONDITION = /^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*([^\s\d.][^\s]*)?\s*$/;

/** Suffixes accepted per metric unit, with the factor to that unit. "" is a bare number. */
const UNIT_SUFFIXES: Record<MetricUnit, Record<string, number>> = {
  ms: { "": 1, us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000 },
  count: { "": 1 },
  bytes: { "": 1, b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 * 1024 },
  ratio: { "": 1, "%": 0.01 },
  "per-sec": { "": 1, "/s": 1 },
  "cpu-s": { "": 1, s: 1, ms: 0.001 },
};

const EXAMPLES: Record<MetricUnit, string> = {
  ms: '"< 50ms"',
  count: '"== 0"',
  bytes: '"< 2KB"',
  ratio: '"< 5%"',
  "per-sec": '"> 1000/s"',
  "cpu-s": '"< 0.05s"',
};

function describeSuffix(suffix: string): string {
  const lower = suffix.toLowerCase();
  if (lower in UNIT_SUFFIXES.ms) return "a duration";
  if (lower in UNIT_SUFFIXES.bytes) return "a size";
  if (lower === "%") return "a percentage";
  if (lower === "/s") return "a rate";
  return "an unknown unit";
}

function parseCondition(
  text: string,
  metric: MetricInfo,
  metricName: string,
): Condition | { problem: string } {
  const match = CONDITION.exec(text);
  if (!match) {
    return { problem: `expected a condition like "< 50ms" or "== 0", found "${text}"` };
  }
  const op = match[1] as Operator;
  const number = Number(match[2]);
  const suffix = match[3] ?? "";
  const factor = UNIT_SUFFIXES[metric.unit][suffix.toLowerCase()];
  if (factor === undefined) {
    const allowed = Object.keys(UNIT_SUFFIXES[metric.unit]).filter((s) => s !== "");
    const accepts =
      allowed.length === 0 ? "a plain number" : `a plain number or ${allowed.join(", ")}`;
    return {
      problem: `"${suffix}" is ${describeSuffix(suffix)} but ${metricName} is in ${metric.unit}; expected ${accepts}, like ${EXAMPLES[metric.unit]}`,
    };
  }
  return { op, value: number * factor, text: text.trim() };
}

function parseKey(key: string): { protocol: ProtocolName | "*"; metric: MetricInfo } | string {
  const { protocol, path } = splitMetricName(key);
  if (protocol !== "*" && !isProtocolName(protocol)) {
    return `unknown protocol "${protocol}"; expected one of ${transportNames().join(", ")} (with @variant in a scenario with variants), or * for all`;
  }
  const metric = findMetric(path);
  if (!metric) return "unknown metric (see `rtbench metrics`)";
  return { protocol, metric };
}

/** Where a problem is: the threshold's key and, in a list of conditions, the index. */
interface KeyedProblem {
  key: string;
  index?: number;
  text: string;
}

function parseAll(map: ThresholdMap): { parsed: ParsedThreshold[]; problems: KeyedProblem[] } {
  const parsed: ParsedThreshold[] = [];
  const problems: KeyedProblem[] = [];
  for (const [key, raw] of Object.entries(map)) {
    const target = parseKey(key);
    if (typeof target === "string") {
      problems.push({ key, text: target });
      continue;
    }
    const texts = Array.isArray(raw) ? raw : [raw];
    if (texts.length === 0) {
      problems.push({
        key,
        text: 'expected a condition like "< 50ms" or "== 0", found an empty list',
      });
      continue;
    }
    const conditions: Condition[] = [];
    texts.forEach((text, i) => {
      const index = Array.isArray(raw) ? i : undefined;
      if (typeof text !== "string") {
        problems.push({
          key,
          index,
          text: `expected a condition like "< 50ms" or "== 0", found ${JSON.stringify(text) ?? String(text)}`,
        });
        return;
      }
      const condition = parseCondition(text, target.metric, key);
      if ("problem" in condition) problems.push({ key, index, text: condition.problem });
      else conditions.push(condition);
    });
    parsed.push({ key, protocol: target.protocol, metric: target.metric, conditions });
  }
  return { parsed, problems };
}

function problemText(problem: KeyedProblem): string {
  const index = problem.index === undefined ? "" : `[${problem.index}]`;
  return `thresholds.${JSON.stringify(problem.key)}${index}: ${problem.text}`;
}

/** Every problem in the map, one line each; empty when valid. */
export function validateThresholds(map: ThresholdMap): string[] {
  return parseAll(map).problems.map(problemText);
}

/**
 * The same problems as scenario-file problems, with paths written the way
 * the scenario loader writes every other path (`thresholds["sse.lost"]`).
 * `entryPath` is the path of the whole entry, for skipping entries the
 * schema already rejected.
 */
export function thresholdProblems(map: ThresholdMap): (Problem & { entryPath: string })[] {
  return parseAll(map).problems.map((problem) => {
    const entryPath = formatPath(["thresholds", problem.key]);
    return {
      path: problem.index === undefined ? entryPath : `${entryPath}[${problem.index}]`,
      text: problem.text,
      entryPath,
    };
  });
}

/** Parses a map, throwing BAD_INPUT listing every problem. */
export function parseThresholds(map: ThresholdMap): ParsedThreshold[] {
  const { parsed, problems } = parseAll(map);
  if (problems.length > 0) {
    throw badInput(
      `thresholds are invalid (${problems.length} problem${problems.length === 1 ? "" : "s"})`,
      problems.map(problemText),
    );
  }
  return parsed;
}

export function holds(actual: number, condition: Condition): boolean {
  switch (condition.op) {
    case "<":
      return actual < condition.value;
    case "<=":
      return actual <= condition.value;
    case ">":
      return actual > condition.value;
    case ">=":
      return actual >= condition.value;
    case "==":
      return actual === condition.value;
    case "!=":
      return actual !== condition.value;
  }
}

/**
 * One outcome per (protocol, condition). A named protocol that was not run,
 * or whose metric is null, fails as "not measured": a gate must not pass on
 * numbers that do not exist. A wildcard covers the protocols in the result
 * and skips those where the metric does not apply (emptyPollShare on
 * WebSocket); if nothing at all was measured it fails.
 */
export function evaluateThresholds(map: ThresholdMap, result: RunResult): ThresholdOutcome[] {
  const outcomes: ThresholdOutcome[] = [];
  for (const threshold of parseThresholds(map)) {
    const { metric } = threshold;
    const targets = thresholdTargets(threshold.protocol, result);
    for (const condition of threshold.conditions) {
      let measured = 0;
      for (const protocol of targets) {
        const protocolResult = result.protocols[protocol];
        const actual =
          protocolResult === undefined ? null : getProtocolMetric(protocolResult, metric.path);
        if (actual === null && threshold.protocol === "*") continue;
        measured++;
        const name = `${protocol}.${metric.path}`;
        if (actual === null) {
          outcomes.push({
            metric: name,
            condition: condition.text,
            actual: null,
            unit: metric.unit,
            pass: false,
            note: "not measured",
          });
        } else {
          outcomes.push({
            metric: name,
            condition: condition.text,
            actual,
            unit: metric.unit,
            pass: holds(actual, condition),
          });
        }
      }
      if (measured === 0) {
        outcomes.push({
          metric: threshold.key,
          condition: condition.text,
          actual: null,
          unit: metric.unit,
          pass: false,
          note: "not measured",
        });
      }
    }
  }
  return outcomes;
}

/**
 * The result keys a threshold's protocol covers: `*` every run; a transport
 * without a variant every variant of it (`websocket` covers
 * `websocket@sticky`); a full key itself.
 */
function thresholdTargets(protocol: ProtocolName | "*", result: RunResult): ProtocolName[] {
  const keys = orderRunKeys(Object.keys(result.protocols));
  if (protocol === "*") return keys;
  if (splitRunKey(protocol).variant !== null) return [protocol];
  const variants = keys.filter(
    (key) => splitRunKey(key).protocol === protocol && splitRunKey(key).variant !== null,
  );
  return variants.length > 0 && !(protocol in result.protocols) ? variants : [protocol];
}
