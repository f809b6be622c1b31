import type { AnyMeasure, MeasureRow } from "../measures/measure.js";
import type { ProtocolResult } from "../metrics/types.js";
import { formatCount, formatNumber, NA } from "./numbers.js";
import type { ReportRow } from "./row.js";

/**
 * The table with each registered measure's rows (src/measures/) placed
 * after the row its `after` names, or at the end.
 */
export function withMeasureRows(
  table: readonly ReportRow[],
  list: readonly AnyMeasure[],
): ReportRow[] {
  const rows = [...table];
  const atEnd: ReportRow[] = [];
  // In reverse, so measures placed after the same row keep registry order.
  for (const measure of [...list].reverse()) {
    if (!measure.rows) continue;
    const { after } = measure.rows;
    const made = measure.rows.rows.map(reportRow);
    const at = rows.findIndex((row) => row.label === after);
    if (at < 0) atEnd.unshift(...made);
    else rows.splice(at + 1, 0, ...made);
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
