import { measureFragments } from "../../measures/parent.js";
import { measures } from "../../measures/registry.js";
import { resultCounters, sumCounters } from "../../metrics/counters.js";
import type { MeasureResults, ProtocolResult } from "../../metrics/types.js";
import type { EdgeSamples, ServerSample } from "../../run-model/server-sample.js";
import type { ShardReport } from "../../run-model/shard-report.js";
import { inFlightWindow, measuredWindow, type Window } from "../../run-model/timeline.js";
import type { Scenario } from "../../scenario/types.js";
import { type ProtocolName, transport } from "../../shared/transports.js";
import type { FaultRecord } from "../faults/faults.js";
import { mergeReasonCounts } from "../fleet/reason-tally.js";
import { countDeliveries, mergeField, reconnectMetrics } from "./aggregate.js";
import { architectureMetrics } from "./result-architecture.js";
import { invalidReasons, saturationRecord, shardsMissing } from "./result-verdicts.js";
import type { RunRecord } from "./run-record.js";
import { buildTimeline } from "./timeline-result.js";

/** Stage 5 of a protocol's run: the result, from what was collected. No I/O. */
export function buildProtocolResult(run: RunRecord): ProtocolResult {
  const { scenario, timeline, collected } = run;
  const { reports } = collected;
  const window = measuredWindow(timeline, run.stoppedAtMs);
  const { acks, stored, among, ...counts } = countDeliveries(
    run.channels,
    run.publisher.records,
    reports,
    window,
  );
  // After an interrupt, what had no time to arrive is neither expected nor lost.
  const inFlight = inFlightWindow(timeline, run.stoppedAtMs);
  const inFlightCounts =
    inFlight === null
      ? null
      : countDeliveries(run.channels, run.publisher.records, reports, inFlight);
  const inFlightAtInterrupt = inFlightCounts?.lost;
  // The shards count bytes and requests, and the servers' CPU is read, up to
  // the stop, past the judged window of an interrupted run: per delivery, they
  // are divided by the deliveries of that same span (the judged ones and those
  // of the messages in flight).
  const trafficDeliveries = counts.delivered + (inFlightCounts?.delivered ?? 0);
  const connected = reports.reduce(
    (n, r) => n + r.subscribers.filter((s) => s.firstReadyMs !== null).length,
    0,
  );
  const counters = sumCounters(reports.map((r) => r.counters));
  const eventLoopDelayP99 = Math.max(
    collected.parentLoopDelayP99Ms,
    ...reports.map((r) => r.eventLoopDelayP99Ms),
  );
  const saturation = saturationRecord(
    run,
    { acks, stored, among, ...counts },
    window,
    eventLoopDelayP99,
  );
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
      connected,
      delivered: trafficDeliveries,
      published: counts.published,
    }),
    publishAcks: acks,
    publisher: publisherRecord(scenario, run.publisher),
    ...trafficCost(run.protocol, reports, trafficDeliveries),
    ...(run.proxy
      ? {
          proxy: {
            kind: run.proxy.kind,
            // Restarts of instances do not touch the proxy's counters.
            ...serverCost(run.proxy.samples, [], trafficDeliveries, connected),
          },
        }
      : {}),
    server: {
      ...serverCost(run.samples, run.faults, trafficDeliveries, connected),
      settings: run.serverSettings,
    },
    generator: {
      eventLoopDelayP99,
      reliable: !saturation.generator.saturated,
      processes: reports.length + 1,
      publisherMaxLagMs: run.publisher.maxLagMs,
      eventLoopDelayLimitMs: scenario.generator.maxEventLoopDelayMs,
      missingShards: shardsMissing(collected).length,
    },
    saturation,
    breakReasons: mergeReasonCounts(reports.map((r) => r.breakReasons)),
    ...reconnectMetrics(reports, counters.reconnectAttempts),
    faults: run.faults,
    deliveriesPerSec: window.seconds > 0 ? counts.delivered / window.seconds : 0,
    ...architectureMetrics({
      reports,
      instanceCount: run.instanceCount,
      ...run.architecture,
      published: counts.published,
      windowSeconds: window.seconds,
      // Clients come back from churn, or from a flap: both time their catch-up.
      churn: scenario.clients.churn !== null || scenario.faults.some((f) => f.action === "flap"),
      faults: run.faults,
      faultClockStartMs: timeline.rampStartMs,
    }),
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

/** The registered measures' fields, from the shards' parts, what the probes saw and the run's facts. */
function measureFields(
  run: RunRecord,
  window: Window & { seconds: number },
  counts: { connected: number; delivered: number; published: number },
): MeasureResults {
  const { collected } = run;
  return measureFragments(
    measures(),
    collected.reports.map((r) => r.measures),
    run.measures ?? {},
    {
      ...counts,
      window,
      windowSeconds: window.seconds,
      records: run.publisher.records,
      channels: run.channels,
      subscribers: collected.reports.flatMap((r) => r.subscribers),
      deliveriesAmong: (which) =>
        countDeliveries(run.channels, run.publisher.records, collected.reports, window, which)
          .among,
      timeline: run.timeline,
      scenario: run.scenario,
      faults: run.faults,
      breaks: collected.reports.flatMap((r) => r.breakLog),
      servers: {
        samples: run.samples,
        proxy: run.proxy ?? null,
        zombieTimeoutsMs: collected.zombieTimeoutsMs,
        writeTimeoutsMs: collected.writeTimeoutsMs,
      },
      missing: collected.missing,
      clocks: collected.clocks ?? null,
      controlTraffic: collected.controlTraffic ?? null,
    },
  );
}

/** How the publisher kept its schedule, and what it was told when a publish was refused. */
function publisherRecord(
  scenario: Scenario,
  publisher: RunRecord["publisher"],
): ProtocolResult["publisher"] {
  return {
    maxInFlight: scenario.publish.maxInFlight,
    peakInFlight: publisher.peakInFlight,
    ackTimeoutMs: scenario.publish.ackTimeoutMs,
    maxSlotWaitMs: publisher.maxSlotWaitMs,
    notSent: publisher.notSent,
    refusals: [...publisher.refusals].map(([reason, e]) => ({ reason, ...e })),
  };
}

/** Wire bytes and requests per delivery, over the measured window. */
function trafficCost(protocol: ProtocolName, reports: ShardReport[], delivered: number) {
  const bytes = sumWindow(reports);
  return {
    bytesPerDelivery: delivered > 0 ? (bytes.bytesIn + bytes.bytesOut) / delivered : null,
    requests: bytes.requests,
    tcpConnections: bytes.socketsOpen,
    requestsPerDelivery: delivered > 0 ? bytes.requests / delivered : null,
    emptyPollShare:
      transport(protocol).delivery === "poll" && bytes.requests > 0
        ? bytes.emptyPolls / bytes.requests
        : null,
  };
}

/** The servers' (or the proxy's) CPU per delivery and memory per connection; null where it cannot be known. */
function serverCost(
  samples: EdgeSamples,
  faults: FaultRecord[],
  delivered: number,
  connected: number,
): Omit<ProtocolResult["server"], "settings"> {
  // A restarted process starts its CPU and memory counters again: its cost cannot be computed.
  const restarted = faults.some((f) => f.action === "kill" || f.action === "restart");
  const start = restarted ? null : samples.windowStart;
  const end = restarted ? null : samples.windowEnd;
  return {
    cpuSecondsPer1kDeliveries:
      start && end && delivered > 0
        ? (end.cpuSeconds - start.cpuSeconds) / (delivered / 1000)
        : null,
    rssBytesPerConnection: rssPerConnection(samples.baseline, end, connected),
  };
}

/**
 * Server memory per connection: RSS growth from before the clients to the end
 * of the window, divided by connections. Below a few hundred connections the
 * allocator's own ups and downs (megabytes) swamp what connections cost, and
 * a shrinking RSS says nothing about them: then it is not reported.
 */
const MIN_CONNECTIONS_FOR_RSS = 500;

function rssPerConnection(
  before: ServerSample | null,
  after: ServerSample | null,
  connections: number,
): number | null {
  if (!before || !after || connections < MIN_CONNECTIONS_FOR_RSS) return null;
  const growth = after.rssBytes - before.rssBytes;
  return growth > 0 ? growth / connections : null;
}

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
