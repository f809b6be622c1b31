import { COUNTER_NAMES, counterInfo, type ResultCounterName } from "../metrics/counters.js";
import type { MetricUnit } from "../metrics/names.js";
import { orderRunKeys, runLabel } from "../metrics/run-keys.js";
import type { HistogramSummary, ProtocolResult, RunResult } from "../metrics/types.js";
import type { ProtocolName } from "../shared/transports.js";
import {
  busiestCpu,
  hasVerdict,
  invalidLines,
  saturatedLines,
  unreliableLines,
  verdictCell,
} from "./verdict-lines.js";

/**
 * What the table and Markdown reporters share: number formatting, the rows
 * of the main table and the warning banners. Pure functions, no I/O.
 */

export const NA = "n/a";

function trimZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** A positive number already rounded to 3 significant digits, in decimals, never in exponent form. */
function plainDecimal(rounded: number): string {
  const decimals = Math.max(0, 2 - Math.floor(Math.log10(rounded)));
  return trimZeros(rounded.toFixed(Math.min(decimals, 100)));
}

/**
 * 3 significant digits, compact, never in exponent form: 0.0123, 1.23, 123,
 * 4567, 12.3k, 1.23M. Numbers from 1,000 to 9,999 and integers below that
 * are shown whole (1004, not 1.00k), so small counts stay exact and a
 * column of milliseconds reads the same way throughout.
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NA;
  if (value === 0) return "0";
  const abs = Math.abs(value);
  const sign = value < 0 ? "-" : "";
  // Round first: 999.6 rounds to 1000 and must be printed as 1000, not as "1.00e+3".
  const rounded = Number(abs.toPrecision(3));
  if (rounded >= 1e9) return `${sign}${plainDecimal(Number((rounded / 1e9).toPrecision(3)))}G`;
  if (rounded >= 1e6) return `${sign}${plainDecimal(Number((rounded / 1e6).toPrecision(3)))}M`;
  if (rounded >= 1e4) return `${sign}${plainDecimal(Number((rounded / 1e3).toPrecision(3)))}k`;
  if (rounded >= 1000 || Number.isInteger(value)) return `${sign}${Math.round(abs)}`;
  return `${sign}${plainDecimal(rounded)}`;
}

/**
 * Counts that must be read exactly (lost, duplicates): a loss of 12,345 must
 * not print as "12.3k". Compact only beyond what a column can hold.
 */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NA;
  return Math.abs(value) < 1e9 ? String(Math.round(value)) : formatNumber(value);
}

/** A value with its unit, for threshold and comparison tables: "12.3 ms", "0.05", "12.3k B". */
export function formatValue(value: number | null | undefined, unit: MetricUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NA;
  switch (unit) {
    case "ms":
      return `${formatNumber(value)} ms`;
    case "bytes":
      return `${formatNumber(value)} B`;
    case "ratio":
      // Plain: requestsPerDelivery (1.4) is a ratio too, and "140%" would read as a share.
      return formatNumber(value);
    case "per-sec":
      return `${formatNumber(value)}/s`;
    case "cpu-s":
      return `${formatNumber(value)} cpu-s`;
    case "count":
      return formatNumber(value);
  }
}

/**
 * A duration for a header line, in one unit and 3 significant digits
 * ("1.5s", "2m"). Not scenario/units.ts's formatDuration, which must
 * round-trip exactly through parseDuration ("1s500ms") for error messages.
 */
function formatDurationCompact(ms: number): string {
  if (ms < 1000) return `${formatNumber(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 120 || seconds % 60 !== 0) return `${formatNumber(seconds)}s`;
  return `${formatNumber(seconds / 60)}m`;
}

function histogramCell(h: HistogramSummary, field: keyof Omit<HistogramSummary, "hdr">): string {
  // An empty histogram holds zeros by contract; showing them would read as "0 ms".
  return h.count === 0 ? NA : formatNumber(h[field]);
}

export interface ReportRow {
  label: string;
  cell(p: ProtocolResult): string;
  /** Shown only when some protocol makes it interesting (reconnect rows: when a connection broke). */
  when?(p: ProtocolResult): boolean;
}

const hadBreaks = (p: ProtocolResult) => p.breaks > 0 || p.connectFailures > 0;

/** A counter's row, from its one definition (metrics/counters.ts); the list below only places it. */
function counterRow(name: ResultCounterName): ReportRow {
  const { row } = counterInfo(name);
  if (row === undefined) throw new Error(`counter ${name} has no table row`);
  const format = row.exact ? formatCount : formatNumber;
  return {
    label: row.label,
    cell: (p) => format(p[name]),
    ...(row.afterBreaks ? { when: hadBreaks } : {}),
  };
}

const PLACED_ROWS: readonly ReportRow[] = [
  { label: "latency p50 ms", cell: (p) => histogramCell(p.latency, "p50") },
  { label: "latency p90 ms", cell: (p) => histogramCell(p.latency, "p90") },
  { label: "latency p99 ms", cell: (p) => histogramCell(p.latency, "p99") },
  { label: "latency max ms", cell: (p) => histogramCell(p.latency, "max") },
  { label: "latency from send p99 ms", cell: (p) => histogramCell(p.latencyFromSend, "p99") },
  { label: "connect p50 ms", cell: (p) => histogramCell(p.connect, "p50") },
  { label: "connect p99 ms", cell: (p) => histogramCell(p.connect, "p99") },
  {
    label: "clients connected",
    cell: (p) => `${formatNumber(p.connected)}/${formatNumber(p.clients)}`,
  },
  {
    label: "delivered / expected",
    cell: (p) => `${formatNumber(p.delivered)}/${formatNumber(p.expected)}`,
  },
  { label: "lost", cell: (p) => formatCount(p.lost) },
  {
    label: "in flight at interrupt",
    cell: (p) => formatCount(p.inFlightAtInterrupt ?? null),
    when: (p) => p.inFlightAtInterrupt !== undefined,
  },
  counterRow("duplicates"),
  counterRow("reordered"),
  { label: "publish failed", cell: (p) => formatCount(p.publishFailed) },
  {
    label: "publish acks late",
    cell: (p) => formatCount(p.publishAcks?.late ?? null),
    when: (p) => (p.publishAcks?.late ?? 0) > 0,
  },
  {
    label: "publish never acked",
    cell: (p) => formatCount(p.publishAcks?.unanswered ?? null),
    when: (p) => (p.publishAcks?.unanswered ?? 0) > 0,
  },
  {
    label: "publish ack p99 ms",
    cell: (p) => (p.publishAck ? histogramCell(p.publishAck, "p99") : NA),
    when: (p) => (p.publishAcks?.late ?? 0) + (p.publishAcks?.unanswered ?? 0) > 0,
  },
  {
    label: "sends behind schedule ms",
    cell: (p) => formatNumber(p.publisher?.maxSlotWaitMs ?? null),
    when: (p) => (p.publisher?.maxSlotWaitMs ?? 0) > 0,
  },
  // What a server sent that its protocol has no place for; absent in older results.
  { ...counterRow("unrecognisedFrames"), when: (p) => (p.unrecognisedFrames ?? 0) > 0 },
  { label: "bytes per delivery", cell: (p) => formatNumber(p.bytesPerDelivery) },
  { label: "requests per delivery", cell: (p) => formatNumber(p.requestsPerDelivery) },
  { label: "TCP connections", cell: (p) => formatCount(p.tcpConnections) },
  {
    label: "empty polls %",
    cell: (p) => (p.emptyPollShare === null ? NA : formatNumber(p.emptyPollShare * 100)),
  },
  {
    label: "server CPU s / 1k deliveries",
    cell: (p) => formatNumber(p.server.cpuSecondsPer1kDeliveries),
  },
  {
    label: "server RSS / connection KB",
    cell: (p) =>
      p.server.rssBytesPerConnection === null
        ? NA
        : formatNumber(p.server.rssBytesPerConnection / 1024),
  },
  {
    label: "generator loop delay p99 ms",
    cell: (p) => formatNumber(p.generator.eventLoopDelayP99),
  },
  {
    label: "generator busiest CPU %",
    cell: (p) => formatNumber(busiestCpu(p, false)),
    when: hasVerdict,
  },
  {
    label: "server busiest CPU %",
    cell: (p) => formatNumber(busiestCpu(p, true)),
    when: hasVerdict,
  },
  { label: "verdict", cell: verdictCell, when: hasVerdict },
  counterRow("breaks"),
  counterRow("watchdogBreaks"),
  { label: "reconnect p50 ms", cell: (p) => histogramCell(p.reconnect, "p50"), when: hadBreaks },
  { label: "reconnect p99 ms", cell: (p) => histogramCell(p.reconnect, "p99"), when: hadBreaks },
  { label: "outage p50 ms", cell: (p) => histogramCell(p.outage, "p50"), when: hadBreaks },
  { label: "outage p99 ms", cell: (p) => histogramCell(p.outage, "p99"), when: hadBreaks },
  {
    label: "attempts per reconnect",
    cell: (p) => formatNumber(p.attemptsPerReconnect),
    when: hadBreaks,
  },
  counterRow("failedReconnects"),
  counterRow("neverReconnected"),
  {
    label: "stall noticed p50 ms",
    cell: (p) => (p.stallDetection ? histogramCell(p.stallDetection, "p50") : NA),
    when: (p) => p.stallDetection !== null,
  },
  {
    label: "stall noticed max ms",
    cell: (p) => (p.stallDetection ? histogramCell(p.stallDetection, "max") : NA),
    when: (p) => p.stallDetection !== null,
  },
  {
    label: "stall noticed (clients)",
    cell: (p) => formatNumber(p.stallDetection?.count ?? null),
    when: (p) => p.stallDetection !== null,
  },
  {
    label: "server noticed p50 ms",
    cell: (p) => (p.serverStallDetection ? histogramCell(p.serverStallDetection, "p50") : NA),
    when: (p) => p.serverStallDetection !== null,
  },
  {
    label: "server noticed max ms",
    cell: (p) => (p.serverStallDetection ? histogramCell(p.serverStallDetection, "max") : NA),
    when: (p) => p.serverStallDetection !== null,
  },
  {
    label: "server noticed (clients)",
    cell: (p) => formatNumber(p.serverStallDetection?.count ?? null),
    when: (p) => p.serverStallDetection !== null,
  },
  {
    label: "peak reconnects / s",
    cell: (p) => formatNumber(p.peakConnectAttemptsPerSec),
    when: hadBreaks,
  },
];

/**
 * Each instance's share of a figure in percent, joined: "60/20/20". Shares
 * fit a column where three raw counts would not; the counts are in the JSON.
 */
function sharesPerInstance(values: readonly (number | null)[] | undefined): string {
  if (values === undefined || values.some((v) => v === null)) return NA;
  const total = (values as number[]).reduce((a, b) => a + b, 0);
  if (total <= 0) return NA;
  return (values as number[]).map((v) => Math.round((v / total) * 100)).join("/");
}

const sticky = (p: ProtocolResult) => p.server.settings?.routing === "sticky";
const fanoutStrategy = (p: ProtocolResult) => (p.server.settings?.fanout ?? "write") !== "write";
const churned = (p: ProtocolResult) => p.catchUp !== undefined && p.catchUp !== null;
const sampledPresence = (p: ProtocolResult) => p.presence !== undefined && p.presence !== null;
const presenceEventsOn = (p: ProtocolResult) => p.server.settings?.presenceEvents === true;
const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? NA : formatNumber(share * 100);

/**
 * Rows about the server's architecture: how load spread over the instances
 * (shown when a run used sticky routing), what the broker did per message
 * (with a read or tiered fan-out), churn and unread counters, presence.
 */
const ARCHITECTURE_ROWS: readonly ReportRow[] = [
  {
    label: "clients % per instance",
    cell: (p) => sharesPerInstance(p.instances?.connections),
    when: sticky,
  },
  {
    label: "deliveries % per instance",
    cell: (p) => sharesPerInstance(p.instances?.deliveries),
    when: sticky,
  },
  {
    label: "CPU % per instance",
    cell: (p) => sharesPerInstance(p.instances?.cpuSeconds),
    when: sticky,
  },
  {
    label: "imbalance clients max/mean",
    cell: (p) => formatNumber(p.imbalance?.connections),
    when: sticky,
  },
  {
    label: "imbalance deliv. max/mean",
    cell: (p) => formatNumber(p.imbalance?.deliveries),
    when: sticky,
  },
  {
    label: "imbalance CPU max/mean",
    cell: (p) => formatNumber(p.imbalance?.cpuSeconds),
    when: sticky,
  },
  { label: "gap markers", cell: (p) => formatCount(p.gaps), when: (p) => (p.gaps ?? 0) > 0 },
  {
    label: "broker ops / message",
    cell: (p) => formatNumber(p.broker?.operationsPerMessage),
    when: fanoutStrategy,
  },
  { label: "churn leaves", cell: (p) => formatCount(p.churnLeaves), when: churned },
  {
    label: "catch-up p50 ms",
    cell: (p) => (p.catchUp ? histogramCell(p.catchUp, "p50") : NA),
    when: churned,
  },
  {
    label: "catch-up p99 ms",
    cell: (p) => (p.catchUp ? histogramCell(p.catchUp, "p99") : NA),
    when: churned,
  },
  {
    label: "unread counts checked",
    cell: (p) => formatCount(p.unreadChecked),
    when: (p) => p.server.settings?.fanout === "tiered",
  },
  {
    label: "unread mismatches",
    cell: (p) => formatCount(p.unreadMismatches),
    when: (p) => p.server.settings?.fanout === "tiered",
  },
  {
    label: "presence samples",
    cell: (p) => formatCount(p.presence?.samples),
    when: sampledPresence,
  },
  {
    label: "presence ghosts %",
    cell: (p) => percent(p.presence?.ghostShare),
    when: sampledPresence,
  },
  {
    label: "presence missing %",
    cell: (p) => percent(p.presence?.missingShare),
    when: sampledPresence,
  },
  {
    label: "presence stale p50 ms",
    cell: (p) => (p.presence ? histogramCell(p.presence.staleness, "p50") : NA),
    when: sampledPresence,
  },
  {
    label: "presence stale max ms",
    cell: (p) => (p.presence ? histogramCell(p.presence.staleness, "max") : NA),
    when: sampledPresence,
  },
  {
    label: "presence never gone",
    cell: (p) => formatCount(p.presence?.censored),
    when: sampledPresence,
  },
  {
    label: "presence events / s",
    cell: (p) => formatNumber(p.presenceEventsPerSec),
    when: presenceEventsOn,
  },
  {
    label: "presence frames / s",
    cell: (p) =>
      p.presenceEventsPerSec && p.presenceEvents
        ? formatNumber((p.presenceEventsPerSec * (p.presenceFrames ?? 0)) / p.presenceEvents)
        : NA,
    when: presenceEventsOn,
  },
  {
    label: "presence event p50 ms",
    cell: (p) => (p.presenceEventLatency ? histogramCell(p.presenceEventLatency, "p50") : NA),
    when: presenceEventsOn,
  },
  {
    label: "presence event p99 ms",
    cell: (p) => (p.presenceEventLatency ? histogramCell(p.presenceEventLatency, "p99") : NA),
    when: presenceEventsOn,
  },
];

/** Counters with a row that the list above does not place go at the end of the table. */
function unplacedCounterRows(placed: readonly ReportRow[]): ReportRow[] {
  const labels = new Set(placed.map((row) => row.label));
  return COUNTER_NAMES.filter((name): name is ResultCounterName => {
    const { row } = counterInfo(name);
    return counterInfo(name).inResult && row !== undefined && !labels.has(row.label);
  }).map(counterRow);
}

export const REPORT_ROWS: readonly ReportRow[] = [
  ...PLACED_ROWS,
  ...ARCHITECTURE_ROWS,
  ...unplacedCounterRows([...PLACED_ROWS, ...ARCHITECTURE_ROWS]),
];

/** The rows worth showing for this result: conditional rows appear when any protocol needs them. */
export function rowsFor(result: RunResult): ReportRow[] {
  const measured = Object.values(result.protocols);
  return REPORT_ROWS.filter((row) => !row.when || measured.some((p) => row.when?.(p)));
}

/**
 * Under a table with an `n/a` cell: what it means, so a reader does not take
 * it for a failure. The reasons are the ones the rows above can have.
 */
export function legendLines(result: RunResult): string[] {
  const protocols = presentProtocols(result);
  const hasNa = rowsFor(result).some((row) =>
    protocols.some((p) => row.cell(result.protocols[p] as ProtocolResult) === NA),
  );
  if (!hasNa) return [];
  return [
    "n/a: does not apply to that transport (empty polls on a stream) or was not measured: no samples, or server cost with an external target, after a restart, or RSS under 500 connections",
  ];
}

/** Notes the run left for the reader (fallbacks, missing shards), one line each. */
export function noteLines(result: RunResult): string[] {
  return result.setup.notes.map((note) => `note: ${note}`);
}

/** Runs present in the result (protocols, or protocol@variant), in the canonical column order. */
export function presentProtocols(result: RunResult): ProtocolName[] {
  return orderRunKeys(Object.keys(result.protocols));
}

export function headerLine(result: RunResult): string {
  const s = result.setup;
  const broker =
    s.broker === "external" ? `target ${s.target?.join(", ") ?? "?"}` : `broker ${s.broker}`;
  const instances = s.instances > 1 ? ` x${s.instances}` : "";
  return (
    `${result.scenario.name}: ${formatNumber(s.clients)} clients, ${formatNumber(s.ratePerSec)} msg/s, ` +
    `${formatDurationCompact(s.durationMs)}, ${broker}${instances}`
  );
}

/**
 * The loud lines: unreliable, invalid and partial results are never shown as
 * if they were sound, and a saturated server is said as a finding.
 */
export function bannerLines(result: RunResult): string[] {
  const lines: string[] = [];
  if (result.status === "partial") lines.push("PARTIAL RESULT (interrupted)");
  if (result.status === "failed")
    lines.push("FAILED RUN: numbers describe what was measured before the failure");
  lines.push(...invalidLines(result));
  if (!result.reliable) lines.push(...(unreliableLines(result) ?? [unreliableLine(result)]));
  lines.push(...saturatedLines(result));
  return lines;
}

function unreliableLine(result: RunResult): string {
  const unhealthy = presentProtocols(result).filter(
    (p) => result.protocols[p]?.generator.reliable === false,
  );
  if (unhealthy.length === 0) {
    return "UNRELIABLE: the generator was overloaded; numbers may be distorted";
  }
  let worstDelayMs = 0;
  let limitMs: number | undefined;
  let worstLagMs = 0;
  for (const p of unhealthy) {
    const g = (result.protocols[p] as ProtocolResult).generator;
    worstDelayMs = Math.max(worstDelayMs, g.eventLoopDelayP99);
    worstLagMs = Math.max(worstLagMs, g.publisherMaxLagMs ?? 0);
    if (g.eventLoopDelayLimitMs !== undefined) limitMs = g.eventLoopDelayLimitMs;
  }
  const on = unhealthy.map((p) => runLabel(p)).join(", ");
  const missingShards = unhealthy.reduce(
    (n, p) => n + ((result.protocols[p] as ProtocolResult).generator.missingShards ?? 0),
    0,
  );
  if (missingShards > 0) {
    return `UNRELIABLE: ${missingShards} generator process(es) died or did not report on ${on}; their clients are missing from the numbers`;
  }
  if (limitMs !== undefined && worstDelayMs <= limitMs && worstLagMs > limitMs) {
    return `UNRELIABLE: publisher fell up to ${formatNumber(worstLagMs)} ms behind schedule > limit ${formatNumber(limitMs)} ms on ${on}; numbers may be distorted`;
  }
  const limit = limitMs === undefined ? "" : ` > limit ${formatNumber(limitMs)} ms`;
  return `UNRELIABLE: generator event-loop delay p99 ${formatNumber(worstDelayMs)} ms${limit} on ${on}; numbers may be distorted`;
}

/** Greedy word wrap, so banners fit narrow CI logs. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = `  ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
