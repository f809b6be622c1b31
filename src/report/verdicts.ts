import type { ComparisonRow, Evidence } from "../gate/compare.js";
import type { ThresholdOutcome } from "../gate/thresholds.js";
import { formatNumber, formatValue } from "./numbers.js";

/**
 * What every reporter says about a gate's verdicts: the change, the evidence
 * behind a verdict, the summary line and the lines that explain exit code 1.
 * Pure functions, no I/O.
 */

export function formatChange(row: ComparisonRow): string {
  if (row.baseline === null || row.current === null) return "";
  if (row.changePct === null) {
    // From 0 a percentage is infinite; the absolute change says more (lost 0 -> 2: "+2").
    const delta = row.current - row.baseline;
    return `${delta > 0 ? "+" : ""}${formatNumber(delta)}`;
  }
  if (row.changePct === 0) return "0%";
  return `${row.changePct > 0 ? "+" : ""}${formatNumber(row.changePct)}%`;
}

function formatP(p: number): string {
  return p < 0.001 ? "p<0.001" : `p=${formatNumber(p)}`;
}

/**
 * The evidence column: `exact` (any increase regresses), `p=0.05 x13.5
 * [12.1-14]` (U test and the interval of the median ratio), `allows +4.3 ms`
 * (how much worse the value could be, tolerance and noise together).
 */
export function formatEvidence(row: ComparisonRow): string {
  if (!row.judged) return "not judged";
  const evidence: Evidence | null = row.evidence;
  if (evidence === null) return "";
  switch (evidence.method) {
    case "exact":
      return "exact";
    case "needs-runs":
      return "needs --repeat";
    case "test": {
      const ratio = evidence.ratio === null ? "" : ` x${formatNumber(evidence.ratio)}`;
      const interval =
        evidence.interval === null
          ? ""
          : ` [${formatNumber(evidence.interval[0])}-${formatNumber(evidence.interval[1])}]`;
      return `${formatP(evidence.pValue)}${ratio}${interval}`;
    }
    case "noise": {
      const sign = row.better === "higher" ? "-" : "+";
      return `allows ${sign}${formatValue(evidence.allowed, row.unit)}`;
    }
  }
}

/** Descriptive rows shown beside the judged ones by default (`--all` shows every row). */
const SHOWN_PATHS = new Set([
  "latency.max",
  "latencyFromSend.p99",
  "emptyPollShare",
  "server.rssBytesPerConnection",
  "generator.eventLoopDelayP99",
  "deliveriesPerSec",
]);

export function isShownByDefault(row: ComparisonRow): boolean {
  return row.judged || SHOWN_PATHS.has(row.metric.slice(row.protocol.length + 1));
}

export const COMPARISON_LEGEND =
  "evidence: exact = any increase regresses; p= one-sided Mann-Whitney U over the runs, x = median ratio with its 95% interval; allows = how much worse it may get within tolerance and noise; needs --repeat = one run cannot show this metric's noise, judged when a side has runs; not judged = shown only (add with compare: or --judge)";

export function comparisonSummary(rows: readonly ComparisonRow[]): string {
  const judged = rows.filter((r) => r.judged);
  const others = rows.filter((r) => !r.judged);
  const count = (list: readonly ComparisonRow[], v: ComparisonRow["verdict"]) =>
    list.filter((r) => r.verdict === v).length;
  const regressed = count(judged, "regressed");
  return (
    `${regressed === 0 ? "no regression" : `${regressed} regressed`} in ${judged.length} judged metrics ` +
    `(${count(judged, "better")} better); not judged: ${count(others, "worse")} worse, ` +
    `${count(others, "better")} better of ${others.length}`
  );
}

const MAX_DETAIL_LINES = 12;

function capped(lines: string[], seeAbove: string): string[] {
  if (lines.length <= MAX_DETAIL_LINES) return lines;
  return [
    ...lines.slice(0, MAX_DETAIL_LINES),
    `... and ${lines.length - MAX_DETAIL_LINES} more (see the ${seeAbove} above)`,
  ];
}

/** One line per regressed metric: `websocket.latency.p50: 2.1 ms -> 32.4 ms (+1443%; p=0.05 x15.4 [14-16])`. */
export function regressionLines(regressions: readonly ComparisonRow[]): string[] {
  const lines = regressions.map((r) => {
    const why = [formatChange(r), formatEvidence(r)].filter((part) => part !== "").join("; ");
    return `${r.metric}: ${formatValue(r.baseline, r.unit)} -> ${formatValue(r.current, r.unit)}${why === "" ? "" : ` (${why})`}`;
  });
  return capped(lines, "table");
}

/** One line per failed threshold: `websocket.latency.p99: 5.39 ms, expected < 1ms`. */
export function thresholdFailureLines(outcomes: readonly ThresholdOutcome[]): string[] {
  const lines = outcomes
    .filter((o) => !o.pass)
    .map((o) => `${o.metric}: ${o.note ?? formatValue(o.actual, o.unit)}, expected ${o.condition}`);
  return capped(lines, "threshold table");
}
