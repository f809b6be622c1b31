import type { AnyMeasure, MeasureRow } from "../measures/measure.js";
import type { ProtocolResult } from "../metrics/types.js";
import { formatCount, formatNumber, NA } from "./numbers.js";
import type { ReportRow } from "./row.js";

/**
 * The table with each registered measure's rows (src/measures/) placed
 * after the row its `after` names (each group of a measure whose rows sit
 * in several places), or at the end. In registry order, so a
 * measure may follow an earlier measure's row, and measures placed after
 * the same row keep registry order.
 */
export function withMeasureRows(
  table: readonly ReportRow[],
  list: readonly AnyMeasure[],
): ReportRow[] {
  const rows = [...table];
  const atEnd: ReportRow[] = [];
  // By the label a measure named: the last row placed after it so far.
  const lastPlaced = new Map<string, string>();
  const groups = list.flatMap((m) => (m.rows === undefined ? [] : [m.rows].flat()));
  for (const { after, rows: measureRows } of groups) {
    if (measureRows.length === 0) continue;
    const made = measureRows.map(reportRow);
    const anchor = after === undefined ? undefined : (lastPlaced.get(after) ?? after);
    const at = rows.findIndex((row) => row.label === anchor);
    if (after === undefined || at < 0) {
      atEnd.push(...made);
      continue;
    }
    rows.splice(at + 1, 0, ...made);
    lastPlaced.set(after, (made[made.length - 1] as ReportRow).label);
  }
  return [...rows, ...atEnd];
}

function reportRow(row: MeasureRow): ReportRow {
  const format = row.format === "count" ? formatCount : formatNumber;
  return {
    label: row.label,
    cell: (p) => {
      if (row.values) return row.values(p)?.map(format).join("/") ?? NA;
      const value = row.value?.(p);
      return value === undefined ? "-" : format(value);
    },
    ...(row.when ? { when: (p: ProtocolResult) => row.when?.(p) === true } : {}),
  };
}
