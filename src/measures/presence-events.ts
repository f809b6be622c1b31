import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import { nowEpochMs, type PresenceEvent } from "../shared/protocol.js";
import type { Measure } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * Presence events (server.presenceEvents): the joins and leaves the
 * subscribers received in the measured window, in frames (batches), and how
 * long each took from the server seeing it to a subscriber receiving it
 * (the server's epoch stamp against this host's epoch clock: one host).
 */
export interface PresenceEventsResult {
  presenceEvents: number;
  presenceFrames: number;
  /** Events per second in the window over all subscribers; null for an empty window. */
  presenceEventsPerSec?: number | null;
  /** Null when no event arrived. */
  presenceEventLatency?: HistogramSummary | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends PresenceEventsResult {}
}

const presenceEventsOn = (r: ProtocolResult) => r.server.settings?.presenceEvents === true;
const latency = (r: ProtocolResult, field: "p50" | "p99") =>
  histogramStat(r.presenceEventLatency, field) ?? null;

export const presenceEvents: Measure<PresenceEventsResult> = {
  name: "presence-events",
  description: "presence events received in the window: count, frames, rate and latency",
  shard: {
    counts: ["events", "frames"],
    timings: ["latency"],
    handlers: (tally, { measureStartMs, measureEndMs, now }) => ({
      presence: (events: readonly PresenceEvent[]) => {
        const atMs = now();
        if (atMs < measureStartMs || atMs >= measureEndMs) return;
        tally.add("frames");
        tally.add("events", events.length);
        const epochNowMs = nowEpochMs();
        for (const event of events) tally.time("latency", epochNowMs - event.ts);
      },
    }),
  },
  result: ({ tally, windowSeconds }) => {
    const events = tally.count("events");
    const latency = tally.timing("latency");
    return {
      presenceEvents: events,
      presenceFrames: tally.count("frames"),
      presenceEventsPerSec: windowSeconds > 0 ? events / windowSeconds : null,
      presenceEventLatency: latency.count > 0 ? latency : null,
    };
  },
  metrics: [
    {
      path: "presenceEvents",
      unit: "count",
      kind: "count",
      better: null,
      description: "join/leave events received by the subscribers in the window",
    },
    {
      path: "presenceFrames",
      unit: "count",
      kind: "count",
      better: null,
      description:
        "presence frames (batches of join/leave events) received by the subscribers in the window",
    },
    {
      path: "presenceEventsPerSec",
      unit: "per-sec",
      kind: "rate",
      better: null,
      description: "presence events (joins, leaves) received per second over all subscribers",
    },
    ...histogramMetrics(
      "presenceEventLatency",
      "presence events: the server saw a join or leave -> a subscriber got it",
    ),
  ],
  schema: {
    presenceEvents: {
      type: "integer",
      minimum: 0,
      description: "join/leave events received in the window",
    },
    presenceFrames: {
      type: "integer",
      minimum: 0,
      description: "presence frames (batches of join/leave events) received in the window",
    },
    presenceEventsPerSec: {
      type: ["number", "null"],
      minimum: 0,
      description: "presence events received per second over all subscribers",
    },
    presenceEventLatency: {
      anyOf: [{ $ref: "#/definitions/histogram" }, { type: "null" }],
      description: "presence events: the server saw the join or leave -> a subscriber received it",
    },
  },
  rows: {
    after: "presence never gone",
    rows: [
      {
        label: "presence events / s",
        value: (r) => r.presenceEventsPerSec ?? null,
        when: presenceEventsOn,
      },
      {
        label: "presence frames / s",
        value: (r) =>
          r.presenceEventsPerSec && r.presenceEvents
            ? (r.presenceEventsPerSec * (r.presenceFrames ?? 0)) / r.presenceEvents
            : null,
        when: presenceEventsOn,
      },
      { label: "presence event p50 ms", value: (r) => latency(r, "p50"), when: presenceEventsOn },
      { label: "presence event p99 ms", value: (r) => latency(r, "p99"), when: presenceEventsOn },
    ],
  },
};
