import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { Measure, MeasureRow } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * Catch-up: how long a client that went away (churn) or lost its network (a
 * flap fault) took, once back, until the last message it missed arrived.
 * The shards time each return (load/fleet/returns.ts, off the per-message
 * path) into the measure's `catchUp` timing; the parent merges the shards'.
 */
export interface CatchUpResult {
  /**
   * Churn or a flap fault: a client (or its network) coming back -> the last
   * message it missed arrived; null without churn or flaps.
   */
  catchUp?: HistogramSummary | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends CatchUpResult {}
}

const churned = (p: ProtocolResult) => p.catchUp !== undefined && p.catchUp !== null;
const row = (label: string, field: "p50" | "p99" | "max"): MeasureRow => ({
  label,
  value: (p) => histogramStat(p.catchUp, field) ?? null,
  when: churned,
});

export const catchUp: Measure<CatchUpResult> = {
  name: "catch-up",
  description:
    "churn or a flap: a client coming back -> the last message it missed arrived (percentiles)",
  shard: {
    counts: [],
    timings: ["catchUp"],
    handlers: (tally) => ({ caughtUp: (ms) => tally.time("catchUp", ms) }),
  },
  // Clients come back from churn, or from a flap: both time their catch-up.
  result: ({ scenario, tally }) =>
    scenario.clients.churn !== null || scenario.faults.some((f) => f.action === "flap")
      ? { catchUp: tally.timing("catchUp") }
      : { catchUp: null },
  metrics: histogramMetrics(
    "catchUp",
    "churn or a flap fault: a client (or its network) coming back -> the last message it missed arrived",
  ),
  schema: {
    catchUp: {
      anyOf: [{ $ref: "#/definitions/histogram" }, { type: "null" }],
      description:
        "churn or a flap fault: a client (or its network) coming back -> the last message it missed arrived",
    },
  },
  rows: {
    // A flap times catch-up too; the churn leaves row above is about churn.
    after: "churn leaves",
    rows: [
      row("catch-up p50 ms", "p50"),
      row("catch-up p99 ms", "p99"),
      row("catch-up max ms", "max"),
    ],
  },
};
