import { SeqTracker } from "../metrics/seq-tracker.js";
import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import { firstSentAtOrAfter, type PublishRecord } from "../run-model/publish-record.js";
import type { SubscriberReport } from "../run-model/shard-report.js";
import type { Window } from "../run-model/timeline.js";
import { transportNames, transports } from "../shared/transports.js";
import type { FallbackOutcome, Measure, MeasureRow } from "./measure.js";
import { histogramMetrics, histogramStat } from "./metric-info.js";

/**
 * What transport fallback (clients.fallback) cost: the transport each
 * client ended on, the steps that failed or timed out on the way, the time
 * from a client's first attempt to its first message, and the messages
 * published on its channel while it was still falling back, exact from the
 * publisher's records and the sequences each client received. Every field is
 * absent from a run without fallback.
 */
export interface FallbackResult {
  /** Clients by the transport they ended on, for every transport some client tried. */
  fallbackEndedOn?: Record<string, number>;
  /** Steps that failed: a connect error, a refused upgrade or response. */
  fallbackFailedSteps?: number;
  /** Steps given up for no ready within clients.fallbackTimeout. */
  fallbackTimedOutSteps?: number;
  /** A client's first attempt started -> ready on the transport it ended on, failed steps included. */
  fallbackConnect?: HistogramSummary;
  /** A client's first attempt started -> its first message arrived. */
  timeToFirstMessage?: HistogramSummary;
  /** Stored messages of the window on a client's channel sent from its first attempt to its first ready, summed over clients. */
  fallbackPublished?: number;
  /** Of those, the ones the client never received. */
  fallbackMissed?: number;
  /** Of those, the ones it received anyway (in flight when it subscribed, or replayed on resume). */
  fallbackDelivered?: number;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends FallbackResult {}
}

const OUTCOMES: readonly FallbackOutcome[] = ["ready", "failed", "timed-out"];
const countName = (outcome: FallbackOutcome, protocol: string) => `${outcome}:${protocol}`;

export interface FallbackBooks {
  published: number;
  missed: number;
  delivered: number;
}

/**
 * For every subscriber that fell back (a start and a first ready), the
 * messages of its channel scheduled in the measured window (as every count
 * of the result) and sent in [start, first ready) that the server stored (acknowledged, or received by a subscriber of the channel: the
 * stamp proves the server had it), and which of them it received.
 * `records[i]` are channel `channels[i]`'s, in send order.
 */
export function fallbackBooks(
  channels: readonly string[],
  records: readonly (readonly PublishRecord[])[],
  subscribers: readonly SubscriberReport[],
  window: Window,
): FallbackBooks {
  const books: FallbackBooks = { published: 0, missed: 0, delivered: 0 };
  const byChannel = new Map<string, { report: SubscriberReport; received: SeqTracker }[]>();
  for (const report of subscribers) {
    const list = byChannel.get(report.channel) ?? [];
    list.push({ report, received: SeqTracker.fromJSON(report.received) });
    byChannel.set(report.channel, list);
  }
  channels.forEach((channel, i) => {
    const onChannel = byChannel.get(channel) ?? [];
    const onRecords = records[i] ?? [];
    const stored = (record: PublishRecord) =>
      record.dueMs >= window.startMs &&
      record.dueMs < window.endMs &&
      (record.outcome === "acked" ||
        record.outcome === "late" ||
        onChannel.some((s) => s.received.has(record.seq)));
    for (const { report, received } of onChannel) {
      const startMs = report.fallbackStartMs;
      const readyMs = report.firstReadyMs;
      if (startMs === undefined || startMs === null || readyMs === null) continue;
      const end = firstSentAtOrAfter(onRecords, readyMs);
      for (let k = firstSentAtOrAfter(onRecords, startMs); k < end; k++) {
        const record = onRecords[k] as PublishRecord;
        if (!stored(record)) continue;
        books.published++;
        if (received.has(record.seq)) books.delivered++;
        else books.missed++;
      }
    }
  });
  return books;
}

const fellBack = (r: ProtocolResult) => r.fallbackEndedOn !== undefined;
const countRow = (
  label: string,
  field:
    | "fallbackFailedSteps"
    | "fallbackTimedOutSteps"
    | "fallbackPublished"
    | "fallbackMissed"
    | "fallbackDelivered",
) => ({ label, value: (r) => r[field], format: "count", when: fellBack }) satisfies MeasureRow;
const timingRow = (
  label: string,
  field: "fallbackConnect" | "timeToFirstMessage",
  percentile: "p50" | "p99",
) =>
  ({
    label,
    // "-" for an empty one too, as for none.
    value: (r) => histogramStat(r[field], percentile) ?? undefined,
    when: fellBack,
  }) satisfies MeasureRow;

/** One row per transport: how many clients ended on it, shown where some client tried it. */
const endedOnRows: MeasureRow[] = transports().map((t) => ({
  label: `fallback ended on ${t.label}`,
  value: (r) => r.fallbackEndedOn?.[t.name],
  format: "count",
  when: (r) => r.fallbackEndedOn?.[t.name] !== undefined,
}));

export const fallback: Measure<FallbackResult> = {
  name: "fallback",
  description:
    "transport fallback: the transport each client ended on, failed steps, time to the first message, messages missed while falling back",
  shard: {
    // Read when a shard starts, so a transport registered before then is counted too.
    get counts() {
      return transportNames().flatMap((name) => OUTCOMES.map((o) => countName(o, name)));
    },
    timings: ["ready", "first-message"],
    handlers: (tally) => ({
      fallbackStep: (protocol, outcome, sinceStartMs) => {
        tally.add(countName(outcome, protocol));
        if (outcome === "ready") tally.time("ready", sinceStartMs);
      },
      firstMessage: (ms) => tally.time("first-message", ms),
    }),
  },
  result: ({ tally, channels, records, subscribers, window }) => {
    const tried = transportNames().filter((name) =>
      OUTCOMES.some((o) => tally.count(countName(o, name)) > 0),
    );
    if (tried.length === 0) return {};
    const sum = (outcome: FallbackOutcome) =>
      tried.reduce((n, name) => n + tally.count(countName(outcome, name)), 0);
    const books = fallbackBooks(channels, records, subscribers, window);
    return {
      fallbackEndedOn: Object.fromEntries(
        tried.map((name) => [name, tally.count(countName("ready", name))]),
      ),
      fallbackFailedSteps: sum("failed"),
      fallbackTimedOutSteps: sum("timed-out"),
      fallbackConnect: tally.timing("ready"),
      timeToFirstMessage: tally.timing("first-message"),
      fallbackPublished: books.published,
      fallbackMissed: books.missed,
      fallbackDelivered: books.delivered,
    };
  },
  metrics: [
    {
      path: "fallbackFailedSteps",
      unit: "count",
      kind: "count",
      better: null,
      description:
        "clients.fallback: steps that failed (a connect error, a refused upgrade or response)",
    },
    {
      path: "fallbackTimedOutSteps",
      unit: "count",
      kind: "count",
      better: null,
      description: "clients.fallback: steps given up for no ready within clients.fallbackTimeout",
    },
    ...histogramMetrics(
      "fallbackConnect",
      "clients.fallback: a client's first attempt started -> ready on the transport it ended on, failed steps included",
    ),
    ...histogramMetrics(
      "timeToFirstMessage",
      "clients.fallback: a client's first attempt started -> its first message arrived",
    ),
    {
      path: "fallbackPublished",
      unit: "count",
      kind: "count",
      better: null,
      description:
        "clients.fallback: messages of the window stored on a client's channel from its first attempt to its first ready, summed over clients",
    },
    {
      path: "fallbackMissed",
      unit: "count",
      kind: "exact",
      better: "lower",
      description:
        "clients.fallback: of the messages published while a client fell back, those it never received",
    },
    {
      path: "fallbackDelivered",
      unit: "count",
      kind: "count",
      better: null,
      description:
        "clients.fallback: of the messages published while a client fell back, those it received anyway (in flight when it subscribed, or replayed)",
    },
  ],
  schema: {
    fallbackEndedOn: {
      description:
        "clients.fallback: clients by the transport they ended on (became ready on first), for every transport some client tried. Absent without fallback.",
      type: "object",
      additionalProperties: { type: "integer", minimum: 0 },
    },
    fallbackFailedSteps: {
      description:
        "clients.fallback: steps that failed (a connect error, a refused upgrade or response). Absent without fallback.",
      type: "integer",
      minimum: 0,
    },
    fallbackTimedOutSteps: {
      description:
        "clients.fallback: steps given up for no ready within clients.fallbackTimeout. Absent without fallback.",
      type: "integer",
      minimum: 0,
    },
    fallbackConnect: {
      description:
        "clients.fallback: a client's first attempt started -> ready on the transport it ended on, every failed step included (connect times only the last step). Absent without fallback.",
      $ref: "#/definitions/histogram",
    },
    timeToFirstMessage: {
      description:
        "clients.fallback: a client's first attempt started -> its first message arrived (each client once). Absent without fallback.",
      $ref: "#/definitions/histogram",
    },
    fallbackPublished: {
      description:
        "clients.fallback: messages the server stored on a client's channel, scheduled in the measured window and sent from the client's first attempt to its first ready, summed over clients. Absent without fallback.",
      type: "integer",
      minimum: 0,
    },
    fallbackMissed: {
      description:
        "clients.fallback: of fallbackPublished, the messages the client never received (exact, from the sequences it received). Absent without fallback.",
      type: "integer",
      minimum: 0,
    },
    fallbackDelivered: {
      description:
        "clients.fallback: of fallbackPublished, the messages the client received anyway: in flight when it subscribed, or replayed on resume. Absent without fallback.",
      type: "integer",
      minimum: 0,
    },
  },
  rows: {
    after: "connect p99 ms",
    rows: [
      ...endedOnRows,
      countRow("fallback failed steps", "fallbackFailedSteps"),
      countRow("fallback timed-out steps", "fallbackTimedOutSteps"),
      timingRow("fallback connect p50 ms", "fallbackConnect", "p50"),
      timingRow("fallback connect p99 ms", "fallbackConnect", "p99"),
      timingRow("fallback 1st message p50 ms", "timeToFirstMessage", "p50"),
      timingRow("fallback 1st message p99 ms", "timeToFirstMessage", "p99"),
      countRow("fallback published meanwhile", "fallbackPublished"),
      countRow("fallback missed", "fallbackMissed"),
      countRow("fallback delivered anyway", "fallbackDelivered"),
    ],
  },
};
