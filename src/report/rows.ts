import { measures } from "../measures/registry.js";
import {
  COUNTER_NAMES,
  counterInfo,
  hadBreaks,
  type ResultCounterName,
} from "../metrics/counters.js";
import type { RunResult } from "../metrics/types.js";
import { ARCHITECTURE_ROWS } from "./architecture-rows.js";
import { oneWayLatencyCell } from "./clock-report.js";
import { withMeasureRows } from "./measure-rows.js";
import { formatCount, formatNumber, histogramCell, NA } from "./numbers.js";
import type { ReportRow } from "./row.js";
import { busiestCpu, hasVerdict, verdictCell } from "./verdict-lines.js";

export type { ReportRow } from "./row.js";

/** The rows of the main table, in order, and which of them a result shows. */

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
  { label: "latency p50 ms", cell: (p) => oneWayLatencyCell(p, p.latency, "p50") },
  { label: "latency p90 ms", cell: (p) => oneWayLatencyCell(p, p.latency, "p90") },
  { label: "latency p99 ms", cell: (p) => oneWayLatencyCell(p, p.latency, "p99") },
  { label: "latency max ms", cell: (p) => oneWayLatencyCell(p, p.latency, "max") },
  {
    label: "latency from send p99 ms",
    cell: (p) => oneWayLatencyCell(p, p.latencyFromSend, "p99"),
  },
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
    // The figure published comparisons quote (clients dropped every ~15 s: 84.55 %).
    label: "delivery rate",
    cell: (p) => (p.expected > 0 ? `${((100 * p.delivered) / p.expected).toFixed(2)} %` : NA),
    when: hadBreaks,
  },
  {
    label: "in flight at interrupt",
    cell: (p) => formatCount(p.inFlightAtInterrupt ?? null),
    when: (p) => p.inFlightAtInterrupt !== undefined,
  },
  counterRow("duplicates"),
  counterRow("reordered"),
  { label: "publish failed", cell: (p) => formatCount(p.publishFailed) },
  // What a server sent that its protocol has no place for; absent in older results.
  { ...counterRow("unrecognisedFrames"), when: (p) => (p.unrecognisedFrames ?? 0) > 0 },
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
  counterRow("failedReconnects"),
  counterRow("neverReconnected"),
];

/** Counters with a row that the list above does not place go at the end of the table. */
function unplacedCounterRows(placed: readonly ReportRow[]): ReportRow[] {
  const labels = new Set(placed.map((row) => row.label));
  return COUNTER_NAMES.filter((name): name is ResultCounterName => {
    const { row } = counterInfo(name);
    return counterInfo(name).inResult && row !== undefined && !labels.has(row.label);
  }).map(counterRow);
}

const TABLE_ROWS: readonly ReportRow[] = [
  ...PLACED_ROWS,
  ...ARCHITECTURE_ROWS,
  ...unplacedCounterRows([...PLACED_ROWS, ...ARCHITECTURE_ROWS]),
];

/** Every row, the registered measures' rows placed among them (src/measures/). */
export function reportRows(): ReportRow[] {
  return withMeasureRows(TABLE_ROWS, measures());
}

/** The rows worth showing for this result: conditional rows appear when any protocol needs them. */
export function rowsFor(result: RunResult): ReportRow[] {
  const measured = Object.values(result.protocols);
  return reportRows().filter((row) => !row.when || measured.some((p) => row.when?.(p)));
}
