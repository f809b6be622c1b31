import type { MetricUnit } from "../measures/names.js";
import type { HistogramSummary } from "../metrics/types.js";

/**
 * Numbers as every report shows them: 3 significant digits, no exponent,
 * k/M suffixes, exact counts, units, and "n/a" for what was not measured.
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
export function formatDurationCompact(ms: number): string {
  if (ms < 1000) return `${formatNumber(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 120 || seconds % 60 !== 0) return `${formatNumber(seconds)}s`;
  return `${formatNumber(seconds / 60)}m`;
}

export function histogramCell(
  h: HistogramSummary,
  field: keyof Omit<HistogramSummary, "hdr">,
): string {
  // An empty histogram holds zeros by contract; showing them would read as "0 ms".
  return h.count === 0 ? NA : formatNumber(h[field]);
}
