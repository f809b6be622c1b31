import type { HdrHistogram } from "../metrics/histogram.js";
import { decodeHistogram, mergeHistograms, summarizeHistogram } from "../metrics/histogram.js";
import { SeqTracker } from "../metrics/seq-tracker.js";
import type { HistogramSummary } from "../metrics/types.js";
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
 * Expected, delivered and lost, per design.md "Metric definitions": a
 * subscriber is expected to receive every message the server acknowledged on
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
    published += inWindow.length;
    const acked = inWindow.filter((r) => r.acked === true);
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
  field: "latency" | "latencyFromSend" | "connect",
): HistogramSummary {
  const histograms: HdrHistogram[] = reports.map((r) => decodeHistogram(r[field]));
  return summarizeHistogram(mergeHistograms(histograms));
}

export function sumField<K extends keyof ShardReport>(reports: ShardReport[], field: K): number {
  let total = 0;
  for (const report of reports) total += report[field] as number;
  return total;
}
