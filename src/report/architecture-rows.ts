import type { ProtocolResult } from "../metrics/types.js";
import { formatCount, formatNumber, histogramCell, NA } from "./numbers.js";
import type { ReportRow } from "./row.js";

/** The table's rows about the server's architecture: routing, fan-out, churn, presence. */

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
const churned = (p: ProtocolResult) => p.catchUp !== undefined && p.catchUp !== null;
const sampledPresence = (p: ProtocolResult) => p.presence !== undefined && p.presence !== null;
const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? NA : formatNumber(share * 100);

/**
 * Rows about the server's architecture: how load spread over the instances
 * (shown when a run used sticky routing), what the broker did per message
 * (with a read or tiered fan-out), churn and unread counters, presence.
 */
export const ARCHITECTURE_ROWS: readonly ReportRow[] = [
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
    label: "churn leaves",
    cell: (p) => formatCount(p.churnLeaves),
    // A flap times catch-up too; the row is about churn.
    when: (p) => churned(p) && (p.churnLeaves ?? 0) > 0,
  },
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
    label: "catch-up max ms",
    cell: (p) => (p.catchUp ? histogramCell(p.catchUp, "max") : NA),
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
];
