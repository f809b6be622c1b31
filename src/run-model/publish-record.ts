/**
 * What became of one message the publisher sent. Whether the server stored
 * it is decided later, with the subscribers' reports: a message someone
 * received was stored whatever its outcome here (load/result/aggregate.ts).
 *
 * - `pending`: still waiting for the server's answer;
 * - `acked`: acknowledged within the acknowledgement timeout;
 * - `late`: acknowledged, but after the timeout;
 * - `refused`: every instance tried answered with an error (status, reset);
 * - `unanswered`: no answer by the end of the run (drain, plus the
 *   acknowledgement timeout for the last sends).
 */
export type PublishOutcome = "pending" | "acked" | "late" | "refused" | "unanswered";

/**
 * The publisher's record of one message, kept per channel in send order
 * (`PublisherLoop.records`). Times are monotonic ms (util/clock.ts): per-second
 * publish counts, for instance, are the records bucketed by `sentMs`.
 */
export interface PublishRecord {
  /** Per-channel sequence number, from 1, as in the body's stamp. */
  seq: number;
  /** When the schedule said to send it. */
  dueMs: number;
  /** When it was sent; later than `dueMs` when the publisher fell behind. */
  sentMs: number;
  /** Send -> the server's acknowledgement, ms; null until (or unless) it came. */
  ackMs: number | null;
  outcome: PublishOutcome;
}

/** The first of `records` (one channel's, in send order) sent at or after `timeMs`: binary search. */
export function firstSentAtOrAfter(records: readonly PublishRecord[], timeMs: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as PublishRecord).sentMs < timeMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the publisher heard back about the window's messages (the result's books count them). */
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
