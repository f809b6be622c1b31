import type { Spread } from "../gate/repeat.js";
import { findMetric, type MetricUnit } from "../measures/names.js";
import { orderRunKeys } from "../metrics/run-keys.js";
import { formatNumber, formatValue, NA } from "./numbers.js";

/**
 * Reporters for `rtbench run --repeat N`: the headline metrics as medians
 * across runs, with their range, so a reader sees how much one run could
 * have moved the verdict. `(input) => string`, no I/O.
 */

/** The metrics a reader of a repeated run looks at first, in table order. */
const SPREAD_PATHS = [
  "latency.p50",
  "latency.p99",
  "latencyFromSend.p99",
  "connect.p99",
  "lost",
  "duplicates",
  "bytesPerDelivery",
  "requestsPerDelivery",
  "server.cpuSecondsPer1kDeliveries",
  "deliveriesPerSec",
] as const;

export interface SpreadRow {
  metric: string;
  median: string;
  range: string;
  /** (max - min) / median, as a percentage. */
  spread: string;
}

function unitOf(path: string): MetricUnit {
  return findMetric(path)?.unit ?? "count";
}

function relativeSpread(s: Spread): string {
  if (s.max === s.min) return "0%";
  if (s.median === 0) return NA;
  return `${formatNumber(((s.max - s.min) / Math.abs(s.median)) * 100)}%`;
}

/** Rows for the headline metrics present in `spread`, protocols in canonical order. */
export function spreadRows(spread: Readonly<Record<string, Spread>>): SpreadRow[] {
  const rows: SpreadRow[] = [];
  const protocols = orderRunKeys(
    Object.keys(spread).map((name) => name.slice(0, name.indexOf("."))),
  );
  for (const protocol of protocols) {
    for (const path of SPREAD_PATHS) {
      const metric = `${protocol}.${path}`;
      const s = spread[metric];
      if (s === undefined) continue;
      const unit = unitOf(path);
      rows.push({
        metric,
        median: formatValue(s.median, unit),
        range: `${formatValue(s.min, unit)} .. ${formatValue(s.max, unit)}`,
        spread: relativeSpread(s),
      });
    }
  }
  return rows;
}

function runsOf(spread: Readonly<Record<string, Spread>>): number {
  return Object.values(spread).reduce((most, s) => Math.max(most, s.runs), 0);
}

const HEAD: SpreadRow = {
  metric: "metric",
  median: "median",
  range: "min .. max",
  spread: "spread",
};

export function renderSpreadTable(spread: Readonly<Record<string, Spread>>): string {
  const rows = [HEAD, ...spreadRows(spread)];
  const width = (pick: (r: SpreadRow) => string) => Math.max(...rows.map((r) => pick(r).length));
  const w = [
    width((r) => r.metric),
    width((r) => r.median),
    width((r) => r.range),
    width((r) => r.spread),
  ];
  const line = (r: SpreadRow) =>
    `${r.metric.padEnd(w[0] as number)}  ${r.median.padStart(w[1] as number)}  ${r.range.padStart(w[2] as number)}  ${r.spread.padStart(w[3] as number)}`;
  const rule = w.map((n) => "-".repeat(n)).join("  ");
  return [
    `medians of ${runsOf(spread)} runs, with the range across runs`,
    line(HEAD),
    rule,
    ...rows.slice(1).map(line),
  ].join("\n");
}

export function renderSpreadMarkdown(spread: Readonly<Record<string, Spread>>): string {
  const rows = spreadRows(spread).map(
    (r) => `| \`${r.metric}\` | ${r.median} | ${r.range} | ${r.spread} |`,
  );
  return [
    `### Medians of ${runsOf(spread)} runs`,
    "",
    "| metric | median | min .. max | spread |",
    "|:---|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n");
}
