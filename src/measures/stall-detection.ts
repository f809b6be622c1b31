import { createLatencyHistogram, recordMs, summarizeHistogram } from "../metrics/histogram.js";
import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { JsonSchema, Measure, MeasureRow } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * How fast a stall is noticed, from either side. A `stall` fault freezes an
 * instance: the time to each break a client noticed on it while it was
 * stalled (its watchdog, or the server's own close). A `stall-clients`
 * fault freezes the clients: the time to each client the server dropped for
 * missing heartbeats, as the servers rtbench started say
 * (/admin/heartbeat-timeouts). Null without such a fault.
 */
export interface StallDetectionResult {
  /** Stall fault -> break noticed by a client on the stalled instance; null without a stall. */
  stallDetection: HistogramSummary | null;
  /**
   * `stall-clients` fault -> the server dropped a zombie client for missing
   * heartbeats; null without such a fault. Only WebSocket has heartbeats a
   * client must answer: SSE and polling servers cannot notice (count 0).
   */
  serverStallDetection: HistogramSummary | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends StallDetectionResult {}
}

type Faults = ProtocolResult["faults"];

/**
 * Fault -> event times, for the events (monotonic ms) that fall between a
 * fault firing and `graceMs` after it ended. Fault records count from the
 * start of ramp-up (`faultClockStartMs`).
 */
function detectionTimes(
  stalls: Faults,
  faultClockStartMs: number,
  graceMs: number,
  eventsFor: (instance: Faults[number]["instance"]) => readonly number[],
): HistogramSummary | null {
  if (stalls.length === 0) return null;
  const histogram = createLatencyHistogram();
  for (const stall of stalls) {
    const firedAtMs = faultClockStartMs + stall.firedAtMs;
    const endMs = faultClockStartMs + (stall.endedAtMs ?? Number.POSITIVE_INFINITY) + graceMs;
    for (const atMs of eventsFor(stall.instance)) {
      if (atMs >= firedAtMs && atMs <= endMs) recordMs(histogram, atMs - firedAtMs);
    }
  }
  return summarizeHistogram(histogram);
}

const NULLABLE_HISTOGRAM: JsonSchema = {
  anyOf: [{ $ref: "#/definitions/histogram" }, { type: "null" }],
};

/** Its three rows for one field: p50, max (n/a when nothing was noticed) and how many were noticed. */
function noticedRows(
  field: keyof StallDetectionResult,
  who: "stall noticed" | "server noticed",
): MeasureRow[] {
  const when = (p: ProtocolResult) => p[field] !== null;
  const at = (stat: "p50" | "max") => (p: ProtocolResult) => histogramStat(p[field], stat) ?? null;
  return [
    { label: `${who} p50 ms`, value: at("p50"), when },
    { label: `${who} max ms`, value: at("max"), when },
    { label: `${who} (clients)`, value: (p) => p[field]?.count ?? null, when },
  ];
}

export const stallDetection: Measure<StallDetectionResult> = {
  name: "stall-detection",
  description:
    "stall fault -> a client noticed the break; stall-clients fault -> the server dropped the zombie client",
  result: ({ faults, timeline, breaks, servers, scenario }) => ({
    stallDetection: detectionTimes(
      faults.filter((f) => f.action === "stall" && typeof f.instance === "number"),
      timeline.rampStartMs,
      0,
      (instance) => breaks.filter(([, url]) => url === instance).map(([atMs]) => atMs),
    ),
    // A server busy with the resumed clients may take a heartbeat's time to drop one.
    serverStallDetection: detectionTimes(
      faults.filter((f) => f.action === "stall-clients"),
      timeline.rampStartMs,
      scenario.server.heartbeatIntervalMs,
      () => servers.zombieTimeoutsMs,
    ),
  }),
  metrics: [
    ...histogramMetrics(
      "stallDetection",
      "stall fault -> break noticed by a client on that instance",
    ),
    ...histogramMetrics(
      "serverStallDetection",
      "stall-clients fault -> the server dropped a zombie client",
    ),
  ],
  schema: { stallDetection: NULLABLE_HISTOGRAM, serverStallDetection: NULLABLE_HISTOGRAM },
  rows: {
    after: "never reconnected",
    rows: [
      ...noticedRows("stallDetection", "stall noticed"),
      ...noticedRows("serverStallDetection", "server noticed"),
    ],
  },
};
