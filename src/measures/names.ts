import { COUNTER_NAMES, COUNTERS, type ResultCounterName } from "../metrics/counters.js";
import { isRunKey } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import type { ProtocolName } from "../shared/transports.js";
import {
  histogramMetrics,
  type MetricInfo,
  type MetricKind,
  type MetricUnit,
} from "./metric-info.js";
import { measures, measuresVersion } from "./registry.js";

export type { MetricInfo, MetricKind, MetricUnit } from "./metric-info.js";

/**
 * The documented metric names: paths into one protocol's result, used by
 * thresholds (`websocket.latency.p99`), `rtbench compare` and `rtbench metrics`.
 * Everything is derived from the one table below and the registered
 * measures' own metrics (registry.ts), listed after it.
 */

type Row = readonly [
  path: string,
  unit: MetricUnit,
  kind: MetricKind,
  better: MetricInfo["better"],
  description: string,
];

const HISTOGRAMS = [
  ["latency", "delivery latency: receive time - scheduled publish time"],
  ["latencyFromSend", "latency from the actual send time"],
  ["connect", "connect time: attempt start -> transport ready"],
] as const;

function histogramRows(): Row[] {
  return HISTOGRAMS.flatMap(([name, what]) => histogramMetrics(name, what).map(toRow));
}

const toRow = (m: MetricInfo): Row => [m.path, m.unit, m.kind, m.better, m.description];

/** A counter's metric, from its one definition; the table below only places it. */
function counterRow(name: ResultCounterName): Row {
  const { kind, better, description } = COUNTERS[name];
  return [name, "count", kind, better, description];
}

/** Counters the result carries that the table below does not place: listed at its end. */
function unplacedCounterRows(placed: readonly Row[]): Row[] {
  const paths = new Set(placed.map(([path]) => path));
  return COUNTER_NAMES.filter(
    (name): name is ResultCounterName => COUNTERS[name].inResult && !paths.has(name),
  ).map(counterRow);
}

const PLACED: readonly Row[] = [
  ["clients", "count", "count", null, "simulated clients"],
  ["connected", "count", "count", "higher", "clients that became ready at least once"],
  ["published", "count", "count", null, "messages the server acknowledged"],
  ["publishFailed", "count", "exact", "lower", "publish requests that failed"],
  ["expected", "count", "count", null, "deliveries expected (per subscriber, per message)"],
  ["delivered", "count", "count", "higher", "expected messages received at least once"],
  ["lost", "count", "exact", "lower", "expected messages never received by the end of the drain"],
  counterRow("duplicates"),
  counterRow("reordered"),
  ...histogramRows(),
  counterRow("connectFailures"),
  counterRow("neverConnected"),
  counterRow("admissionWaits"),
  counterRow("breaks"),
  ["deliveriesPerSec", "per-sec", "rate", "higher", "messages delivered per second"],
  counterRow("reconnectAttempts"),
  counterRow("failedReconnects"),
  counterRow("neverReconnected"),
  counterRow("watchdogBreaks"),
  counterRow("unreadChecked"),
  counterRow("unreadMismatches"),
  counterRow("churnLeaves"),
  counterRow("gaps"),
];

const TABLE: readonly Row[] = [...PLACED, ...unplacedCounterRows(PLACED)];

const BASE: readonly MetricInfo[] = TABLE.map(([path, unit, kind, better, description]) => ({
  path,
  unit,
  kind,
  better,
  description,
}));

/** The table's metrics, then each registered measure's; rebuilt when the registry changes. */
let catalogue: {
  version: number;
  metrics: readonly MetricInfo[];
  byPath: Map<string, MetricInfo>;
} | null = null;

function current() {
  const version = measuresVersion();
  if (catalogue?.version !== version) {
    const metrics = [...BASE, ...measures().flatMap((m) => m.metrics)];
    catalogue = { version, metrics, byPath: new Map(metrics.map((m) => [m.path, m])) };
  }
  return catalogue;
}

export function listMetrics(): readonly MetricInfo[] {
  return current().metrics;
}

/** Metric by its path inside a protocol (`latency.p99`), or undefined. */
export function findMetric(path: string): MetricInfo | undefined {
  return current().byPath.get(path);
}

/** A result key: a transport's name, or `name@variant` (metrics/run-keys.ts). */
export function isProtocolName(name: string): name is ProtocolName {
  return isRunKey(name);
}

/** Splits `websocket.latency.p99` (or `websocket@sticky.lost`) into its key and metric path: keys hold no dot. */
export function splitMetricName(name: string): { protocol: string; path: string } {
  const dot = name.indexOf(".");
  if (dot < 0) return { protocol: name, path: "" };
  return { protocol: name.slice(0, dot), path: name.slice(dot + 1) };
}

/** The value at a metric path inside one protocol's result: number, or null when not applicable. */
export function getProtocolMetric(result: ProtocolResult, path: string): number | null {
  let node: unknown = result;
  for (const key of path.split(".")) {
    if (node === null || typeof node !== "object") return null;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "number" && Number.isFinite(node) ? node : null;
}

/**
 * `getMetric(result, "websocket.latency.p99")`: a number; null when the
 * protocol ran but the metric does not apply (emptyPollShare for WebSocket);
 * undefined when the protocol was not run. Throws on an unknown name.
 */
export function getMetric(result: RunResult, name: string): number | null | undefined {
  const { protocol, path } = splitMetricName(name);
  if (!isProtocolName(protocol)) {
    throw new RangeError(`unknown protocol "${protocol}" in metric "${name}"`);
  }
  if (findMetric(path) === undefined) throw new RangeError(`unknown metric "${name}"`);
  const protocolResult = result.protocols[protocol];
  if (protocolResult === undefined) return undefined;
  return getProtocolMetric(protocolResult, path);
}
