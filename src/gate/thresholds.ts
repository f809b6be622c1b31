import { getProtocolMetric, type MetricUnit } from "../measures/names.js";
import { isOneWayLatency } from "../metrics/one-way.js";
import { orderRunKeys, splitRunKey } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { type Condition, parseThresholds, type ThresholdMap } from "../scenario/thresholds.js";
import type { ProtocolName } from "../shared/transports.js";

/** A failed threshold makes `rtbench run` exit 1. */
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
        const name = `${protocol}.${metric.path}`;
        // An invalid run passes nothing: "lost == 0" of zero deliveries proves nothing;
        // nor does one-way latency between two clocks further apart than allowed.
        const unjudged = unjudgedWhy(protocolResult, metric.path);
        if (unjudged !== null) {
          measured++;
          outcomes.push({
            metric: name,
            condition: condition.text,
            actual,
            unit: metric.unit,
            pass: false,
            note: unjudged,
          });
          continue;
        }
        if (actual === null && threshold.protocol === "*") continue;
        measured++;
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

/** Why a run's metric cannot pass any threshold (it fails with this note); null when it is judged. */
function unjudgedWhy(p: ProtocolResult | undefined, path: string): string | null {
  if (p?.status === "invalid") return "run invalid";
  if (p?.clock?.unreliable && isOneWayLatency(path)) return `unreliable: ${p.clock.unreliable}`;
  return null;
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
