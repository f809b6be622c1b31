import {
  createLatencyHistogram,
  recordMs,
  summarizeEncoded,
  summarizeHistogram,
} from "../../metrics/histogram.js";
import { SeqTracker } from "../../metrics/seq-tracker.js";
import type { HistogramSummary } from "../../metrics/types.js";
import { firstSentAtOrAfter, type PublishRecord } from "../../run-model/publish-record.js";
import type { ShardReport } from "../../run-model/shard-report.js";
import type { Window } from "../../run-model/timeline.js";
import type { FaultRecord } from "../faults/faults.js";

export interface DeliveryCounts {
  /**
   * Messages scheduled in the window that the server stored: acknowledged
   * (in time or late), or received by some subscriber (the stamp in the body
   * proves the server had it), whatever became of the acknowledgement.
   */
  published: number;
  /** Messages scheduled in the window that no subscriber received and the server never acknowledged. */
  publishFailed: number;
  expected: number;
  delivered: number;
  lost: number;
  /** Expected and delivered over the slow consumers only (clients.slow). */
  slow: { expected: number; delivered: number };
  /** What the publisher heard back about the window's messages. */
  acks: PublishAckCounts;
  /** The records counted as `published`, for series that must sum to it (the timeline). */
  stored: ReadonlySet<PublishRecord>;
}

export interface PublishAckCounts {
  /** Acknowledged within the acknowledgement timeout. */
  inTime: number;
  /** Acknowledged after the timeout: the server was behind. */
  late: number;
  /** Never answered by the end of the run. */
  unanswered: number;
  /** Refused by every instance tried (an error status, a reset). */
  refused: number;
  /** Of those never acknowledged (unanswered or refused), the ones a subscriber received anyway. */
  storedUnacknowledged: number;
}

interface ChannelSubscriber {
  firstReadyMs: number | null;
  received: SeqTracker;
  slow: boolean;
}

const acknowledged = (r: PublishRecord) => r.outcome === "acked" || r.outcome === "late";

/**
 * The books of the measured window. A message is in them from its send to
 * the end of the run, whatever its acknowledgement did: it was stored when
 * the server acknowledged it or any subscriber received it. Each subscriber
 * is expected to receive every stored message of its channel scheduled in
 * the window and sent after the subscriber was first ready, outages
 * included. `delivered` counts expected messages received at least once, so
 * delivered + lost = expected; a delivery without a publish is impossible.
 */
export function countDeliveries(
  channels: string[],
  records: PublishRecord[][],
  reports: ShardReport[],
  window: Window,
): DeliveryCounts {
  const subscribers = subscribersByChannel(reports);
  const counts: DeliveryCounts = {
    published: 0,
    publishFailed: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    slow: { expected: 0, delivered: 0 },
    acks: { inTime: 0, late: 0, unanswered: 0, refused: 0, storedUnacknowledged: 0 },
    stored: new Set(),
  };
  const storedAll = counts.stored as Set<PublishRecord>;
  channels.forEach((channel, i) => {
    const onChannel = subscribers.get(channel) ?? [];
    const receivedByAnyone = (seq: number) => onChannel.some((s) => s.received.has(seq));
    const stored: PublishRecord[] = [];
    for (const record of records[i] ?? []) {
      if (record.dueMs < window.startMs || record.dueMs >= window.endMs) continue;
      countAck(counts.acks, record);
      if (acknowledged(record)) stored.push(record);
      else if (receivedByAnyone(record.seq)) {
        stored.push(record);
        counts.acks.storedUnacknowledged++;
      } else counts.publishFailed++;
    }
    counts.published += stored.length;
    for (const record of stored) storedAll.add(record);
    for (const subscriber of onChannel) {
      if (subscriber.firstReadyMs === null) continue;
      const fromMs = Math.max(subscriber.firstReadyMs, window.startMs);
      const seqs = stored.slice(firstSentAtOrAfter(stored, fromMs)).map((r) => r.seq);
      const delivered = subscriber.received.countIn(seqs);
      counts.expected += seqs.length;
      counts.delivered += delivered;
      if (subscriber.slow) {
        counts.slow.expected += seqs.length;
        counts.slow.delivered += delivered;
      }
    }
  });
  counts.lost = counts.expected - counts.delivered;
  return counts;
}

function countAck(acks: PublishAckCounts, record: PublishRecord): void {
  if (record.outcome === "acked") acks.inTime++;
  else if (record.outcome === "late") acks.late++;
  else if (record.outcome === "refused") acks.refused++;
  // Pending at accounting time means the run ended before an answer came.
  else acks.unanswered++;
}

function subscribersByChannel(reports: ShardReport[]): Map<string, ChannelSubscriber[]> {
  const byChannel = new Map<string, ChannelSubscriber[]>();
  for (const report of reports) {
    for (const s of report.subscribers) {
      const list = byChannel.get(s.channel) ?? [];
      list.push({
        firstReadyMs: s.firstReadyMs,
        received: SeqTracker.fromJSON(s.received),
        slow: s.slow === true,
      });
      byChannel.set(s.channel, list);
    }
  }
  return byChannel;
}

/** Merges one encoded histogram field of every shard report, losslessly. */
export function mergeField(
  reports: ShardReport[],
  field: "latency" | "latencyFromSend" | "connect" | "reconnect" | "outage",
): HistogramSummary {
  return summarizeEncoded(reports.map((r) => r[field]));
}

/**
 * Reconnect behaviour over all shards: the merged reconnect and outage
 * histograms, attempts per successful reconnect, and the busiest second of
 * reconnect attempts (the thundering herd).
 */
export function reconnectMetrics(reports: ShardReport[], reconnectAttempts: number) {
  const reconnect = mergeField(reports, "reconnect");
  const perSecond = new Map<string, number>();
  for (const report of reports) {
    for (const [second, count] of Object.entries(report.attemptsPerSecond)) {
      perSecond.set(second, (perSecond.get(second) ?? 0) + count);
    }
  }
  return {
    reconnect,
    outage: mergeField(reports, "outage"),
    reconnects: reconnect.count,
    attemptsPerReconnect: reconnect.count > 0 ? reconnectAttempts / reconnect.count : null,
    peakConnectAttemptsPerSec: Math.max(0, ...perSecond.values()),
  };
}

/**
 * Client-side detection of stalled instances: for each `stall` fault, the
 * time from the stall to each break noticed on that instance while it was
 * stalled. Null when the run had no stall.
 */
export function stallDetection(
  faults: FaultRecord[],
  faultClockStartMs: number,
  reports: ShardReport[],
): HistogramSummary | null {
  const stalls = faults.filter((f) => f.action === "stall" && typeof f.instance === "number");
  const breaksOn = (instance: FaultRecord["instance"]) =>
    reports.flatMap((r) => r.breakLog.filter(([, url]) => url === instance).map(([atMs]) => atMs));
  return detectionTimes(stalls, faultClockStartMs, 0, breaksOn);
}

/**
 * Server-side detection of zombie clients: for each `stall-clients` fault,
 * the time from the stall to each connection the server dropped for missing
 * heartbeats, up to `graceMs` after the stall ended (a server busy with the
 * resumed clients may take a moment). Null when the run had no such fault.
 */
export function serverStallDetection(
  faults: FaultRecord[],
  faultClockStartMs: number,
  timeoutsMs: number[],
  graceMs: number,
): HistogramSummary | null {
  const stalls = faults.filter((f) => f.action === "stall-clients");
  return detectionTimes(stalls, faultClockStartMs, graceMs, () => timeoutsMs);
}

/**
 * Fault -> event times, for the events (monotonic ms) that fall between a
 * fault firing and `graceMs` after it ended. Fault records count from the
 * start of ramp-up (`faultClockStartMs`).
 */
function detectionTimes(
  stalls: FaultRecord[],
  faultClockStartMs: number,
  graceMs: number,
  eventsFor: (instance: FaultRecord["instance"]) => number[],
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
