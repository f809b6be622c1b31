import { formatCount } from "./numbers.js";
import type { ReportRow } from "./row.js";

/**
 * Rows about the server's architecture the clients count: gap markers,
 * churn and the unread counters of a tiered fan-out. The measures' rows
 * (how load spread over the instances, catch-up, presence, what the broker
 * did) are placed among them from src/measures/.
 */
export const ARCHITECTURE_ROWS: readonly ReportRow[] = [
  { label: "gap markers", cell: (p) => formatCount(p.gaps), when: (p) => (p.gaps ?? 0) > 0 },
  {
    label: "churn leaves",
    cell: (p) => formatCount(p.churnLeaves),
    // A flap times catch-up too; the row is about churn.
    when: (p) => p.catchUp !== undefined && p.catchUp !== null && (p.churnLeaves ?? 0) > 0,
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
];
