import type { ResultContext } from "../../measures/measure.js";
import { measureFragments } from "../../measures/parent.js";
import { measures } from "../../measures/registry.js";
import { resultCounters, sumCounters } from "../../metrics/counters.js";
import type { MeasureResults, ProtocolResult } from "../../metrics/types.js";
import type { ShardReport } from "../../run-model/shard-report.js";
import { inFlightWindow, measuredWindow, type Window } from "../../run-model/timeline.js";
import { mergeReasonCounts } from "../fleet/reason-tally.js";
import { splitMissing } from "../shards/shards.js";
import { countDeliveries, deliveriesAmong, mergeField } from "./aggregate.js";
import { invalidReasons, saturationRecord } from "./result-verdicts.js";
import type { RunRecord } from "./run-record.js";
import { buildTimeline } from "./timeline-result.js";

/** Stage 5 of a protocol's run: the result, from what was collected. No I/O. */
export function buildProtocolResult(run: RunRecord): ProtocolResult {
  const { scenario, timeline, collected } = run;
  const { reports } = collected;
  const { window, books, inFlightAtInterrupt, trafficDeliveries } = windowBooks(run);
  const { acks, stored, bySubscriber, ...counts } = books;
  const connected = reports.reduce(
    (n, r) => n + r.subscribers.filter((s) => s.firstReadyMs !== null).length,
    0,
  );
  const counters = sumCounters(reports.map((r) => r.counters));
  const eventLoopDelayP99 = Math.max(
    collected.parentLoopDelayP99Ms,
    ...reports.map((r) => r.eventLoopDelayP99Ms),
  );
  const saturation = saturationRecord(run, books, window, eventLoopDelayP99);
  const invalid = invalidReasons(run, {
    connected,
    neverConnected: counters.neverConnected,
    expected: counts.expected,
    delivered: counts.delivered,
  });
  return {
    status: invalid.length > 0 ? "invalid" : "measured",
    ...(invalid.length > 0 ? { invalidReasons: invalid } : {}),
    clients: scenario.clients.count,
    connected,
    ...counts,
    ...(inFlightAtInterrupt === undefined ? {} : { inFlightAtInterrupt }),
    // Unacknowledged publishes all count as sent: failures are not known, not zero.
    publishFailed: run.publishAcknowledged === false ? null : counts.publishFailed,
    ...resultCounters(counters),
    latency: mergeField(reports, "latency"),
    latencyFromSend: mergeField(reports, "latencyFromSend"),
    connect: mergeField(reports, "connect"),
    // Every registered measure's fields (src/measures/), names as they always were.
    ...measureFields(run, window, {
      generator: { processes: reports.length + 1, eventLoopDelayP99Ms: eventLoopDelayP99 },
      saturation,
      counters,
      connected,
      delivered: trafficDeliveries,
      published: counts.published,
      acks,
      deliveriesAmong: (which) => deliveriesAmong(bySubscriber, which),
    }),
    saturation,
    faults: run.faults,
    deliveriesPerSec: window.seconds > 0 ? counts.delivered / window.seconds : 0,
    timeline: buildTimeline({
      timeline,
      window,
      channels: run.channels,
      records: run.publisher.records,
      stored,
      reports,
      parentLoopDelayP99Ms: run.seconds.parentLoopDelayP99Ms,
      servers: run.seconds.servers,
    }),
  };
}

/**
 * The books of the measured window (aggregate.ts), and of the messages still
 * in flight when an interrupted run stopped: after an interrupt, what had no
 * time to arrive is neither expected nor lost. The shards count bytes and
 * requests, and the servers' CPU is read, up to the stop, past the judged
 * window: per delivery, they are divided by the deliveries of that same span,
 * the judged ones and those of the messages in flight (`trafficDeliveries`).
 */
function windowBooks(run: RunRecord) {
  const { channels, publisher, collected, timeline, stoppedAtMs } = run;
  const window = measuredWindow(timeline, stoppedAtMs);
  const books = countDeliveries(channels, publisher.records, collected.reports, window);
  const inFlight = inFlightWindow(timeline, stoppedAtMs);
  const inFlightCounts =
    inFlight === null
      ? null
      : countDeliveries(channels, publisher.records, collected.reports, inFlight);
  return {
    window,
    books,
    inFlightAtInterrupt: inFlightCounts?.lost,
    trafficDeliveries: books.delivered + (inFlightCounts?.delivered ?? 0),
  };
}

/** The registered measures' fields, from the shards' parts, what the probes saw and the run's facts. */
function measureFields(
  run: RunRecord,
  window: Window & { seconds: number },
  books: Pick<
    ResultContext<unknown>,
    | "generator"
    | "saturation"
    | "counters"
    | "connected"
    | "delivered"
    | "published"
    | "acks"
    | "deliveriesAmong"
  >,
): MeasureResults {
  const { collected } = run;
  return measureFragments(
    measures(),
    collected.reports.map((r) => r.measures),
    run.measures ?? {},
    {
      ...books,
      protocol: run.protocol,
      traffic: sumWindow(collected.reports),
      window,
      windowSeconds: window.seconds,
      records: run.publisher.records,
      publisher: run.publisher,
      channels: run.channels,
      subscribers: collected.reports.flatMap((r) => r.subscribers),
      timeline: run.timeline,
      scenario: run.scenario,
      faults: run.faults,
      reconnects: {
        reconnect: collected.reports.map((r) => r.reconnect),
        outage: collected.reports.map((r) => r.outage),
        attemptsPerSecond: collected.reports.map((r) => r.attemptsPerSecond),
        breakReasons: mergeReasonCounts(collected.reports.map((r) => r.breakReasons)),
      },
      breaks: collected.reports.flatMap((r) => r.breakLog),
      servers: {
        samples: run.samples,
        proxy: run.proxy ?? null,
        zombieTimeoutsMs: collected.zombieTimeoutsMs,
        writeTimeoutsMs: collected.writeTimeoutsMs,
        settings: run.serverSettings,
      },
      instances: {
        count: run.instanceCount,
        shards: collected.reports.map((r) => r.instances),
      },
      connections: collected.reports.flatMap((r) => r.connections ?? []),
      missing: splitMissing(collected.missing),
      clocks: collected.clocks ?? null,
      controlTraffic: collected.controlTraffic ?? null,
    },
  );
}

/** The shards' socket and request counters, summed. */
function sumWindow(reports: ShardReport[]) {
  const total = { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0, socketsOpen: 0 };
  for (const { window } of reports) {
    total.bytesIn += window.bytesIn;
    total.bytesOut += window.bytesOut;
    total.requests += window.requests;
    total.emptyPolls += window.emptyPolls;
    total.socketsOpen += window.socketsOpen;
  }
  return total;
}
