import { summarizeEncoded } from "../../metrics/histogram.js";
import { SeqTracker } from "../../metrics/seq-tracker.js";
import type { HistogramSummary } from "../../metrics/types.js";
import {
  firstSentAtOrAfter,
  type PublishAckCounts,
  type PublishRecord,
} from "../../run-model/publish-record.js";
import type { ShardReport, SubscriberReport } from "../../run-model/shard-report.js";
import type { Window } from "../../run-model/timeline.js";

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
  /** Each subscriber's own expected and delivered, so a subset's are a sum (`deliveriesAmong`). */
  bySubscriber: SubscriberBooks;
  /** What the publisher heard back about the window's messages. */
  acks: PublishAckCounts;
  /** The records counted as `published`, for series that must sum to it (the timeline). */
  stored: ReadonlySet<PublishRecord>;
}

/**
 * Per subscriber, by its place in `subscribers` (every shard's, in report
 * order): numbers in two arrays rather than an object each, since there can
 * be tens of thousands. Zero for one never ready or on a channel not counted.
 */
export interface SubscriberBooks {
  subscribers: readonly SubscriberReport[];
  expected: Float64Array;
  delivered: Float64Array;
}

interface ChannelSubscriber {
  firstReadyMs: number | null;
  received: SeqTracker;
  /** Its place in `SubscriberBooks.subscribers`. */
  index: number;
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
 * Each subscriber's own share is kept too, for a measure's subset (the slow
 * consumers) to be summed without counting the books again.
 */
export function countDeliveries(
  channels: string[],
  records: PublishRecord[][],
  reports: ShardReport[],
  window: Window,
): DeliveryCounts {
  const all = reports.flatMap((r) => r.subscribers);
  const subscribers = subscribersByChannel(all);
  const bySubscriber: SubscriberBooks = {
    subscribers: all,
    expected: new Float64Array(all.length),
    delivered: new Float64Array(all.length),
  };
  const counts: DeliveryCounts = {
    published: 0,
    publishFailed: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    bySubscriber,
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
      const at = subscriber.index;
      bySubscriber.expected[at] = (bySubscriber.expected[at] ?? 0) + seqs.length;
      bySubscriber.delivered[at] = (bySubscriber.delivered[at] ?? 0) + delivered;
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

/** Expected and delivered over the subscribers `which` selects, summed from the books. */
export function deliveriesAmong(
  { subscribers, expected, delivered }: SubscriberBooks,
  which: (s: SubscriberReport) => boolean,
): { expected: number; delivered: number } {
  const among = { expected: 0, delivered: 0 };
  subscribers.forEach((s, i) => {
    if (!which(s)) return;
    among.expected += expected[i] ?? 0;
    among.delivered += delivered[i] ?? 0;
  });
  return among;
}

function subscribersByChannel(
  subscribers: readonly SubscriberReport[],
): Map<string, ChannelSubscriber[]> {
  const byChannel = new Map<string, ChannelSubscriber[]>();
  subscribers.forEach((s, index) => {
    const list = byChannel.get(s.channel) ?? [];
    list.push({ firstReadyMs: s.firstReadyMs, received: SeqTracker.fromJSON(s.received), index });
    byChannel.set(s.channel, list);
  });
  return byChannel;
}

/** Merges one encoded histogram field of every shard report, losslessly. */
export function mergeField(
  reports: ShardReport[],
  field: "latency" | "latencyFromSend" | "connect",
): HistogramSummary {
  return summarizeEncoded(reports.map((r) => r[field]));
}
