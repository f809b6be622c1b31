import {
  createLatencyHistogram,
  recordMs,
  summarizeEncoded,
  summarizeHistogram,
} from "../metrics/histogram.js";
import { SeqTracker } from "../metrics/seq-tracker.js";
import type { HistogramSummary } from "../metrics/types.js";
import type { FaultRecord } from "./faults.js";
import type { PublishRecord } from "./publisher.js";
import type { ShardReport } from "./shard-protocol.js";

export interface Window {
  startMs: number;
  endMs: number;
}

export interface DeliveryCounts {
  published: number;
  publishFailed: number;
  expected: number;
  delivered: number;
  lost: number;
}

/**
 * Expected, delivered and lost: a subscriber is expected to receive every message the server acknowledged on
 * its channel that was scheduled in the measured window and sent after the
 * subscriber was first ready, outages included. `delivered` counts expected
 * messages received at least once, so delivered + lost = expected.
 */
export function countDeliveries(
  channels: string[],
  records: PublishRecord[][],
  reports: ShardReport[],
  window: Window,
): DeliveryCounts {
  let published = 0;
  let publishFailed = 0;
  const ackedByChannel = new Map<string, PublishRecord[]>();
  channels.forEach((channel, i) => {
    const inWindow = (records[i] ?? []).filter(
      (r) => r.dueMs >= window.startMs && r.dueMs < window.endMs,
    );
    const acked = inWindow.filter((r) => r.acked === true);
    // Published means acknowledged by the server; the rest failed (or never got an answer).
    published += acked.length;
    publishFailed += inWindow.length - acked.length;
    ackedByChannel.set(channel, acked);
  });

  let expected = 0;
  let delivered = 0;
  for (const report of reports) {
    for (const subscriber of report.subscribers) {
      if (subscriber.firstReadyMs === null) continue;
      const acked = ackedByChannel.get(subscriber.channel) ?? [];
      const fromMs = Math.max(subscriber.firstReadyMs, window.startMs);
      const first = firstSentAtOrAfter(acked, fromMs);
      const seqs = acked.slice(first).map((r) => r.seq);
      expected += seqs.length;
      delivered += SeqTracker.fromJSON(subscriber.received).countIn(seqs);
    }
  }
  return { published, publishFailed, expected, delivered, lost: expected - delivered };
}

/** Records are in send order, so `sentMs` does not decrease: binary search. */
function firstSentAtOrAfter(records: PublishRecord[], timeMs: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as PublishRecord).sentMs < timeMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
