import {
  findMetric,
  isProtocolName,
  type MetricInfo,
  type MetricUnit,
  splitMetricName,
} from "../measures/names.js";
import { badInput } from "../shared/errors.js";
import { formatPath, type Problem } from "../shared/problem.js";
import { type ProtocolName, transportNames } from "../shared/transports.js";

/**
 * The threshold language of a scenario: pass/fail conditions on metrics, e.g.
 * `websocket.latency.p99: "< 50ms"` or `"*.lost": "== 0"` (every protocol in
 * the result). Parsed and checked here, with the rest of the scenario, so a
 * typo fails before a run; the gate evaluates them after it.
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

const CONDITION = /^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*([^\s\d.][^\s]*)?\s*$/;

/**
 * Suffixes accepted per metric unit, with the factor to that unit. "" is a
 * bare number. Times have no bare form: "< 1" on a latency could mean 1 ms
 * or 1 s, and a gate that guesses wrong passes everything.
 */
const UNIT_SUFFIXES: Record<MetricUnit, Record<string, number>> = {
  ms: { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000 },
  count: { "": 1 },
  bytes: { "": 1, b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 * 1024 },
  ratio: { "": 1, "%": 0.01 },
  "per-sec": { "": 1, "/s": 1 },
  "cpu-s": { s: 1, ms: 0.001 },
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
  if (factor === undefined && suffix === "") {
    const units = Object.keys(UNIT_SUFFIXES[metric.unit]).join(", ");
    return {
      problem: `"${text.trim()}" has no unit but ${metricName} is a time; expected a number with one of ${units}, like ${EXAMPLES[metric.unit]}`,
    };
  }
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
