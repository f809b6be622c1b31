import { runLabel } from "../metrics/run-keys.js";
import type { HistogramSummary, ProtocolResult, RunResult } from "../metrics/types.js";
import { formatNumber, histogramCell } from "./numbers.js";

/**
 * How the clock bound of a run on workers shows, in one place: beside every
 * one-way latency figure (`41.2 ±0.4`), as a banner when a bound is above
 * `workers.maxClockBound`, and in the gate, where latency thresholds then
 * fail as unreliable (loss, duplicates, connect times and bytes do not
 * depend on two clocks and stay judged).
 */

/** A one-way latency cell, with the clock bound when the clients ran on workers: "41.2 ±0.4". */
export function oneWayLatencyCell(
  p: ProtocolResult,
  h: HistogramSummary,
  field: keyof Omit<HistogramSummary, "hdr">,
): string {
  const cell = histogramCell(h, field);
  if (p.clock === undefined || h.count === 0) return cell;
  // Two significant digits: the bound is an error bar, not a measurement.
  const bound = `${cell} ±${formatNumber(Number(p.clock.boundMs.toPrecision(2)))}`;
  // The column is narrow: "?" marks the figure, the banner gives the reason.
  return p.clock.unreliable ? `${bound}?` : bound;
}

/** One banner line per run whose latency a worker's clock makes unreliable. */
export function clockLines(result: RunResult): string[] {
  return Object.entries(result.protocols).flatMap(([key, p]) =>
    p.clock?.unreliable
      ? [
          `UNRELIABLE latency on ${runLabel(key)} (figures marked ?): ${p.clock.unreliable}; loss, duplicates, connect times and bytes are unaffected`,
        ]
      : [],
  );
}

/** One line per run that lost workers, naming them. */
export function lostWorkerLines(result: RunResult): string[] {
  return Object.entries(result.protocols).flatMap(([key, p]) =>
    (p.lostWorkers ?? []).map(
      (w) =>
        `PARTIAL RESULT on ${runLabel(key)}: ${w.worker} ${w.reason}; its ${w.clients} clients are counted as lost connections`,
    ),
  );
}
