/**
 * What a scenario (or a flag) says about comparisons with a baseline: which
 * tolerance keys exist and which extra metrics to judge. Checked with the
 * rest of the scenario, so a typo fails before minutes of load; the gate
 * applies them after the run.
 */
import { findMetric, isProtocolName, splitMetricName } from "../measures/names.js";
import type { Problem } from "../shared/problem.js";
import { type ProtocolName, transportNames } from "../shared/transports.js";
import { isMapping } from "./reader.js";

/**
 * A tolerance applies to a kind (timing, rate), a metric (latency.p99) or a
 * full metric name (websocket.latency.p99).
 */
export function isToleranceKey(key: string): boolean {
  if (key === "timing" || key === "rate" || findMetric(key) !== undefined) return true;
  const { protocol, path } = splitMetricName(key);
  return isProtocolName(protocol) && findMetric(path) !== undefined;
}

/** One entry of a `compare:` list or a `--judge` flag: a metric, on one protocol or on all. */
export interface MetricSelector {
  /** null: every protocol. */
  protocol: ProtocolName | null;
  /** Path inside a protocol's result, e.g. `latency.p95`. */
  path: string;
}

export const SELECTOR_EXPECTED =
  "a metric (latency.p95), a metric on every protocol (*.latency.p95) or a full metric name (websocket.latency.p95)";

/** `latency.p95`, `*.latency.p95` or `websocket.latency.p95`; a string saying why not otherwise. */
export function parseMetricSelector(text: string): MetricSelector | string {
  if (findMetric(text) !== undefined) return { protocol: null, path: text };
  const { protocol, path } = splitMetricName(text);
  if (protocol !== "*" && !isProtocolName(protocol)) {
    return `expected ${SELECTOR_EXPECTED}, found "${text}" (protocols: ${transportNames().join(", ")}; names: \`rtbench metrics\`)`;
  }
  if (findMetric(path) === undefined) {
    return `expected ${SELECTOR_EXPECTED}, found "${text}": unknown metric "${path}" (see \`rtbench metrics\`)`;
  }
  return { protocol: protocol === "*" ? null : protocol, path };
}

/** Whether `protocol.path` is one of the selected metrics. */
export function selects(
  selectors: readonly MetricSelector[],
  protocol: ProtocolName,
  path: string,
): boolean {
  return selectors.some((s) => s.path === path && (s.protocol === null || s.protocol === protocol));
}

/** `compare:` of a scenario file; the schema checked that it is a list of strings. */
export function readCompareList(
  raw: unknown,
  isBad: (path: string) => boolean,
  problems: Problem[],
): MetricSelector[] {
  const selectors: MetricSelector[] = [];
  if (!Array.isArray(raw)) return selectors;
  raw.forEach((entry, index) => {
    const path = `compare[${index}]`;
    if (isBad(path) || typeof entry !== "string") return;
    const selector = parseMetricSelector(entry);
    if (typeof selector === "string") problems.push({ path, text: selector });
    else selectors.push(selector);
  });
  return selectors;
}

/** `tolerances:` as fractions; the schema checked the percent syntax, this checks the keys. */
export function readTolerances(
  raw: unknown,
  isBad: (path: string) => boolean,
  problems: Problem[],
): Record<string, number> {
  const tolerances: Record<string, number> = {};
  if (!isMapping(raw)) return tolerances;
  for (const [key, value] of Object.entries(raw)) {
    const path = `tolerances[${JSON.stringify(key)}]`;
    if (isBad(path) || typeof value !== "string") continue;
    if (!isToleranceKey(key)) {
      problems.push({
        path,
        text: `expected timing, rate, a metric (latency.p99) or a full metric name (websocket.latency.p99), found "${key}" (see \`rtbench metrics\`)`,
      });
      continue;
    }
    tolerances[key] = Number.parseFloat(value) / 100;
  }
  return tolerances;
}
