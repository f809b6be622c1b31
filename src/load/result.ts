import { resultCounters, sumCounters } from "../metrics/counters.js";
import type { ProtocolResult } from "../metrics/types.js";
import type { Scenario } from "../scenario/types.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";
import { type ProtocolName, transport } from "../shared/transports.js";
import { clockResult } from "../workers/clock-sync.js";
import {
  countDeliveries,
  mergeField,
  publishAckLatency,
  reconnectMetrics,
  serverStallDetection,
  stallDetection,
} from "./aggregate.js";
import type { BrokerOps } from "./broker-ops.js";
import type { Collected } from "./collect.js";
import type { FaultRecord } from "./faults.js";
import type { PresenceSample } from "./presence-audit.js";
import type { PublisherLoop } from "./publisher.js";
import { mergeReasonCounts } from "./reason-tally.js";
import { architectureMetrics } from "./result-architecture.js";
import { invalidReasons, saturationRecord, shardsMissing } from "./result-verdicts.js";
import type { BoundarySamples } from "./server-seconds.js";
import type { ServerSample } from "./servers.js";
import type { ShardPlan } from "./shard-plan.js";
import type { ShardReport } from "./shard-protocol.js";
import { inFlightWindow, measuredWindow, type Timeline } from "./timeline.js";
import { buildTimeline } from "./timeline-result.js";

/** Everything a protocol's result is computed from. */
export interface RunRecord {
  scenario: Scenario;
  protocol: ProtocolName;
  timeline: Timeline;
  /** When an interrupted run stopped (monotonic ms); null when it ran to the end. */
  stoppedAtMs: number | null;
  channels: string[];
  /** The shard plan the run went by; absent where a caller did not plan. */
  plan?: ShardPlan;
  publisher: Pick<
    PublisherLoop,
    "records" | "maxLagMs" | "maxSlotWaitMs" | "peakInFlight" | "notSent" | "refusals"
  >;
  faults: FaultRecord[];
  collected: Collected;
  /** What the servers rtbench started run with (from /healthz); null against a target. */
  serverSettings: EffectiveServerSettings | null;
  /** False when the target does not acknowledge publishes (each counted as sent once written). */
  publishAcknowledged?: boolean;
  /** Server samples before the clients, and at the start and end of the window. */
  samples: {
    baseline: ServerSample | null;
    windowStart: ServerSample | null;
    windowEnd: ServerSample | null;
  };
  /** Per-second samples taken by the parent (observe.ts). */
  seconds: { parentLoopDelayP99Ms: (number | null)[]; servers: BoundarySamples };
  /** Server instances the clients were spread over. */
  instanceCount: number;
  /** Per-instance CPU, broker operations and presence lists observed during the run. */
  architecture: {
    instanceCpuSeconds: (number | null)[] | null;
    brokerOps: { start: BrokerOps | null; end: BrokerOps | null } | null;
    presenceSamples: PresenceSample[] | null;
  };
}

/** Stage 5 of a protocol's run: the result, from what was collected. No I/O. */
export function buildProtocolResult(run: RunRecord): ProtocolResult {
  const { scenario, timeline, collected } = run;
  const { reports } = collected;
  const window = measuredWindow(timeline, run.stoppedAtMs);
  const { acks, stored, ...counts } = countDeliveries(
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
  const saturation = saturationRecord(run, { acks, stored, ...counts }, window, eventLoopDelayP99);
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
    connectTcp: mergeField(reports, "connectTcp"),
    tlsHandshake: mergeField(reports, "tlsHandshake"),
    connectHttp: mergeField(reports, "connectHttp"),
    publishAck: publishAckLatency(run.publisher.records, window),
    publishAcks: acks,
    publisher: publisherRecord(scenario, run.publisher),
    ...trafficCost(run.protocol, reports, trafficDeliveries),
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
    ...workerMetrics(run),
    saturation,
    breakReasons: mergeReasonCounts(reports.map((r) => r.breakReasons)),
    ...reconnectMetrics(reports, counters.reconnectAttempts),
    stallDetection: stallDetection(run.faults, timeline.rampStartMs, reports),
    serverStallDetection: serverStallDetection(
      run.faults,
      timeline.rampStartMs,
      collected.zombieTimeoutsMs,
      scenario.server.heartbeatIntervalMs,
    ),
    faults: run.faults,
    deliveriesPerSec: window.seconds > 0 ? counts.delivered / window.seconds : 0,
    ...architectureMetrics({
      reports,
      instanceCount: run.instanceCount,
      ...run.architecture,
      published: counts.published,
      windowSeconds: window.seconds,
      churn: scenario.clients.churn !== null,
      faults: run.faults,
      faultClockStartMs: timeline.rampStartMs,
      presenceEvents: counters.presenceEvents,
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

/** With workers: their clocks' bounds, judged, and the workers lost on the way. */
function workerMetrics(run: RunRecord): Pick<ProtocolResult, "clock" | "lostWorkers" | "workers"> {
  const { collected } = run;
  const lost = collected.missing.flatMap((m) =>
    m.lostClients === undefined
      ? []
      : [{ worker: m.name, reason: m.reason, clients: m.lostClients }],
  );
  return {
    ...(collected.clocks
      ? { clock: clockResult(collected.clocks, run.scenario.workers.maxClockBoundMs) }
      : {}),
    ...(lost.length > 0 ? { lostWorkers: lost } : {}),
    ...(collected.controlTraffic ? { workers: collected.controlTraffic } : {}),
  };
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

/** The servers' CPU per delivery and memory per connection; null where it cannot be known. */
function serverCost(
  samples: RunRecord["samples"],
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
