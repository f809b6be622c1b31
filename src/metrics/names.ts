import type { ProtocolName } from "../shared/transports.js";
import { COUNTER_NAMES, COUNTERS, type ResultCounterName } from "./counters.js";
import { isRunKey } from "./run-keys.js";
import type { ProtocolResult, RunResult } from "./types.js";

/**
 * The documented metric names: paths into one protocol's result, used by
 * thresholds (`websocket.latency.p99`), `rtbench compare` and `rtbench metrics`.
 * Everything is derived from the one table below.
 */
export type MetricUnit = "ms" | "count" | "bytes" | "ratio" | "per-sec" | "cpu-s";

/**
 * - exact: counts that must match exactly (a single lost message is a regression);
 * - timing: durations, compared with a relative tolerance and an absolute floor;
 * - rate: costs and throughputs, compared with a relative tolerance;
 * - count: descriptive counts (clients, published), shown but never a regression.
 */
export type MetricKind = "exact" | "timing" | "rate" | "count";

export interface MetricInfo {
  /** Path inside one protocol's result, e.g. `latency.p99`. */
  path: string;
  unit: MetricUnit;
  kind: MetricKind;
  /** null when neither direction is better (clients, published). */
  better: "lower" | "higher" | null;
  description: string;
}

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
  ["connectTcp", "TCP connect of each connection: SYN -> established"],
  ["tlsHandshake", "TLS handshake of each connection: established -> handshake done"],
  ["connectHttp", "HTTP of each connection: ready to send -> the server's first byte"],
  ["reconnect", "reconnect time: break noticed -> ready again, backoff included"],
  ["outage", "outage: last message before a break -> first message after it"],
  ["stallDetection", "stall fault -> break noticed by a client on that instance"],
  ["serverStallDetection", "stall-clients fault -> the server dropped a zombie client"],
  ["publishAck", "publish acknowledgement: send -> the server's answer, late ones included"],
  [
    "catchUp",
    "churn or a flap fault: a client (or its network) coming back -> the last message it missed arrived",
  ],
  [
    "presenceEventLatency",
    "presence events: the server saw a join or leave -> a subscriber got it",
  ],
  ["presence.staleness", "presence: a client left (or froze) -> gone from the presence list"],
] as const;

const HISTOGRAM_FIELDS = [
  ["min", "minimum"],
  ["mean", "mean"],
  ["p50", "median"],
  ["p90", "90th percentile"],
  ["p95", "95th percentile"],
  ["p99", "99th percentile"],
  ["p999", "99.9th percentile"],
  ["max", "maximum"],
] as const;

function histogramRows(): Row[] {
  const rows: Row[] = [];
  for (const [name, what] of HISTOGRAMS) {
    rows.push([`${name}.count`, "count", "count", null, `${what}: number of samples`]);
    for (const [field, label] of HISTOGRAM_FIELDS) {
      rows.push([`${name}.${field}`, "ms", "timing", "lower", `${what}, ${label}`]);
    }
  }
  return rows;
}

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
  ["bytesPerDelivery", "bytes", "rate", "lower", "wire bytes (both directions) per delivery"],
  ["requests", "count", "count", null, "HTTP requests sent by subscribers in the window"],
  [
    "tcpConnections",
    "count",
    "count",
    "lower",
    "TCP connections the subscribers held open at the end of the window",
  ],
  ["requestsPerDelivery", "ratio", "rate", "lower", "HTTP requests per delivered message"],
  ["emptyPollShare", "ratio", "rate", "lower", "share of poll responses with no message"],
  [
    "server.cpuSecondsPer1kDeliveries",
    "cpu-s",
    "rate",
    "lower",
    "server CPU seconds per 1,000 deliveries",
  ],
  [
    "server.rssBytesPerConnection",
    "bytes",
    "rate",
    "lower",
    "server resident memory per open connection",
  ],
  [
    "generator.eventLoopDelayP99",
    "ms",
    "timing",
    "lower",
    "generator event-loop delay p99 (health)",
  ],
  [
    "generator.publisherMaxLagMs",
    "ms",
    "timing",
    "lower",
    "how far the publisher fell behind its schedule, at worst",
  ],
  ["generator.processes", "count", "count", null, "generator processes (shards)"],
  [
    "publishAcks.late",
    "count",
    "count",
    "lower",
    "publishes acknowledged after publish.ackTimeout (the server was behind)",
  ],
  [
    "publishAcks.unanswered",
    "count",
    "count",
    "lower",
    "publishes never acknowledged by the end of the run",
  ],
  [
    "publisher.maxSlotWaitMs",
    "ms",
    "timing",
    "lower",
    "how far sends fell behind schedule because every publish slot waited for an answer",
  ],
  ["publisher.notSent", "count", "count", "lower", "scheduled messages never sent"],
  counterRow("connectFailures"),
  counterRow("neverConnected"),
  counterRow("admissionWaits"),
  counterRow("breaks"),
  ["deliveriesPerSec", "per-sec", "rate", "higher", "messages delivered per second"],
  ["reconnects", "count", "count", null, "successful reconnects after a break"],
  counterRow("reconnectAttempts"),
  ["attemptsPerReconnect", "ratio", "rate", "lower", "attempts per successful reconnect"],
  counterRow("failedReconnects"),
  counterRow("neverReconnected"),
  counterRow("watchdogBreaks"),
  [
    "peakConnectAttemptsPerSec",
    "per-sec",
    "rate",
    "lower",
    "most reconnect attempts in one second (thundering herd)",
  ],
  ...instanceRows(),
  [
    "broker.operationsPerMessage",
    "ratio",
    "rate",
    "lower",
    "broker operations per published message (Redis commands, or the memory broker's own)",
  ],
  ["broker.operations", "count", "count", null, "broker operations in the window"],
  counterRow("unreadChecked"),
  counterRow("unreadMismatches"),
  counterRow("churnLeaves"),
  counterRow("gaps"),
  counterRow("presenceEvents"),
  counterRow("presenceFrames"),
  [
    "presenceEventsPerSec",
    "per-sec",
    "rate",
    null,
    "presence events (joins, leaves) received per second over all subscribers",
  ],
  ["presence.samples", "count", "count", null, "presence lists sampled"],
  [
    "presence.ghostShare",
    "ratio",
    "rate",
    "lower",
    "share of listed users that were gone (left or frozen) for the whole sample",
  ],
  [
    "presence.missingShare",
    "ratio",
    "rate",
    "lower",
    "share of connected users that the presence list left out",
  ],
  ["presence.ghosts", "count", "count", "lower", "listed users that were gone"],
  ["presence.missing", "count", "count", "lower", "connected users not listed"],
];

/** How evenly the instances share the load: max / mean of each per-instance figure. */
function instanceRows(): Row[] {
  return (
    [
      ["connections", "clients connected"],
      ["deliveries", "deliveries"],
      ["cpuSeconds", "server CPU seconds"],
    ] as const
  ).map(
    ([field, what]): Row => [
      `imbalance.${field}`,
      "ratio",
      "rate",
      "lower",
      `${what} per instance, max / mean (1 is even)`,
    ],
  );
}

const TABLE: readonly Row[] = [...PLACED, ...unplacedCounterRows(PLACED)];

const METRICS: readonly MetricInfo[] = TABLE.map(([path, unit, kind, better, description]) => ({
  path,
  unit,
  kind,
  better,
  description,
}));

const BY_PATH = new Map(METRICS.map((m) => [m.path, m]));

export function listMetrics(): readonly MetricInfo[] {
  return METRICS;
}

/** Metric by its path inside a protocol (`latency.p99`), or undefined. */
export function findMetric(path: string): MetricInfo | undefined {
  return BY_PATH.get(path);
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
  if (!BY_PATH.has(path)) throw new RangeError(`unknown metric "${name}"`);
  const protocolResult = result.protocols[protocol];
  if (protocolResult === undefined) return undefined;
  return getProtocolMetric(protocolResult, path);
}
