import {
  createLatencyHistogram,
  encodeHistogram,
  type LatencyHistogram,
  mergeHistograms,
} from "../metrics/histogram.js";
import type { ShardTimeline, UncountedPublishes } from "../run-model/shard-report.js";
import { BUCKET_MS, bucketCount } from "../run-model/timeline.js";
import { ReceiptLedger } from "./receipt-ledger.js";

/** Counters sampled from the sockets and the client context, not counted per event. */
export interface TrafficSnapshot {
  bytesIn: number;
  bytesOut: number;
  requests: number;
}

/**
 * One shard's per-second record, from the start of ramp-up to the end of
 * drain. Bucket i covers `[rampStartMs + i s, rampStartMs + (i + 1) s)` on the
 * monotonic clock every process shares, so the buckets of all shards and of
 * the parent line up. Anything later than the last bucket (the clients stop
 * a moment after the drain ends) counts in the last one, so every series
 * still sums to its total.
 *
 * Each series is fed by the same event as the total it sums to:
 * - `deliveries`: first receipts of messages scheduled in the measured
 *   window and sent after the subscriber was first ready, by second of
 *   receipt. A receipt proves the message stored whether or not its publish
 *   was acknowledged (load/aggregate.ts), so each counts; with the parent's
 *   correction for a window an interrupt cut short (receipt-ledger.ts),
 *   they sum to `delivered`;
 * - `received`: every first receipt of a stamped message, warmup, drain and
 *   messages sent before the subscriber was ready included (`deliveries`
 *   are the part of it that is counted);
 * - `latency`: the delivery-latency histogram per second of receipt; merged,
 *   they are the total histogram itself;
 * - `breaks`, `reconnects` (successful), `attempts` (every attempt started);
 * - `requests`, `bytesIn`, `bytesOut`: the part of each second inside the
 *   measured window, from the same snapshots as the window's totals;
 * - `connected` at the end of each second, and `connectedMin`, the lowest
 *   count at any moment in it (a dip shorter than a second still shows).
 */
export class FleetTimeline {
  readonly buckets: number;
  readonly ledger = new ReceiptLedger();
  readonly deliveries: number[];
  readonly received: number[];
  readonly breaks: number[];
  readonly reconnects: number[];
  readonly attempts: number[];
  private readonly latency: (LatencyHistogram | undefined)[];
  private readonly connected: number[];
  private readonly connectedMin: number[];
  private readonly traffic: Record<keyof TrafficSnapshot, number[]>;
  /** Buckets before this one have their final `connected` value. */
  private connectedBucket = 0;
  private openNow = 0;
  private lastCut: { atMs: number; snapshot: TrafficSnapshot } | null = null;
  private inWindow = false;

  constructor(
    private readonly rampStartMs: number,
    endMs: number,
  ) {
    this.buckets = bucketCount(rampStartMs, endMs);
    const zeros = () => new Array<number>(this.buckets).fill(0);
    this.deliveries = zeros();
    this.received = zeros();
    this.breaks = zeros();
    this.reconnects = zeros();
    this.attempts = zeros();
    this.connected = zeros();
    this.connectedMin = zeros();
    this.traffic = { bytesIn: zeros(), bytesOut: zeros(), requests: zeros() };
    this.latency = new Array(this.buckets).fill(undefined);
  }

  /** The bucket of a monotonic time, clamped to the timeline. Hot path. */
  bucketAt(nowMs: number): number {
    const b = Math.floor((nowMs - this.rampStartMs) / BUCKET_MS);
    return b < 0 ? 0 : b >= this.buckets ? this.buckets - 1 : b;
  }

  /** The latency histogram of bucket `b`, made on first use. Hot path. */
  latencyIn(b: number): LatencyHistogram {
    let h = this.latency[b];
    if (h === undefined) {
      h = createLatencyHistogram();
      this.latency[b] = h;
    }
    return h;
  }

  /** A delivery (see the class comment) of `seq` on ledger slot `slot`, in bucket `b`. Hot path. */
  countDelivery(b: number, slot: number, seq: number): void {
    (this.deliveries[b] as number)++;
    this.ledger.add(slot, seq, b);
  }

  /** A first receipt of any stamped message, in bucket `b`. Hot path. */
  countReceipt(b: number): void {
    (this.received[b] as number)++;
  }

  /** A connection attempt started at `nowMs` (first connect, retry or reconnect). */
  countAttempt(nowMs: number): void {
    (this.attempts[this.bucketAt(nowMs)] as number)++;
  }

  /** A ready connection broke at `nowMs`. */
  countBreak(nowMs: number): void {
    (this.breaks[this.bucketAt(nowMs)] as number)++;
  }

  /** A client was ready again after a break, at `nowMs`. */
  countReconnect(nowMs: number): void {
    (this.reconnects[this.bucketAt(nowMs)] as number)++;
  }

  /** The number of ready clients changed to `open` at `nowMs`. */
  connectedChanged(nowMs: number, open: number): void {
    this.settleConnected(this.bucketAt(nowMs));
    this.openNow = open;
    const b = this.connectedBucket;
    if (open < (this.connectedMin[b] as number)) this.connectedMin[b] = open;
  }

  /**
   * Closes a traffic segment at `nowMs`: what the counters grew since the
   * last cut goes to the bucket of the segment's middle, when the segment
   * lay inside the measured window. The fleet cuts at every second and at
   * the window's edges, with the same snapshots as the window's totals.
   * The middle, not the start: a timer may fire a fraction of a
   * millisecond before its boundary, and the second after it must not be
   * counted in the second before.
   */
  cut(nowMs: number, snapshot: TrafficSnapshot): void {
    const last = this.lastCut;
    if (last !== null && this.inWindow) {
      const b = this.bucketAt((last.atMs + nowMs) / 2);
      for (const key of ["bytesIn", "bytesOut", "requests"] as const) {
        (this.traffic[key][b] as number) += snapshot[key] - last.snapshot[key];
      }
    }
    this.lastCut = { atMs: nowMs, snapshot };
  }

  /** From the next cut on, segments are inside (true) or outside the measured window. */
  setInWindow(inWindow: boolean): void {
    this.inWindow = inWindow;
  }

  /**
   * The shard's timeline for its report. `uncounted` names publishes the
   * result leaves out (after a window an interrupt cut short); the report
   * says in which seconds each was counted as a delivery, so the parent can
   * take them out.
   */
  report(uncounted: UncountedPublishes, loopDelayP99Ms: (number | null)[]): ShardTimeline {
    this.settleConnected(this.buckets - 1);
    this.connected[this.buckets - 1] = this.openNow;
    const receipts: ShardTimeline["uncountedReceipts"] = [];
    for (const [channel, seqs] of uncounted) {
      for (const seq of seqs) {
        for (const [bucket, count] of this.ledger.receipts(channel, seq)) {
          receipts.push([channel, seq, bucket, count]);
        }
      }
    }
    return {
      deliveries: this.deliveries,
      received: this.received,
      latency: this.latency.map((h) => (h === undefined ? "" : encodeHistogram(h))),
      breaks: this.breaks,
      reconnects: this.reconnects,
      attempts: this.attempts,
      connected: this.connected,
      connectedMin: this.connectedMin,
      requests: this.traffic.requests,
      bytesIn: this.traffic.bytesIn,
      bytesOut: this.traffic.bytesOut,
      loopDelayP99Ms,
      uncountedReceipts: receipts,
    };
  }

  /** Every latency histogram merged: the shard's total delivery-latency histogram. */
  totalLatency(): LatencyHistogram {
    return mergeHistograms(this.latency.filter((h): h is LatencyHistogram => h !== undefined));
  }

  /** Gives the buckets before `b` their end-of-second count, and `b` its starting low. */
  private settleConnected(b: number): void {
    while (this.connectedBucket < b) {
      this.connected[this.connectedBucket] = this.openNow;
      this.connectedBucket++;
      this.connectedMin[this.connectedBucket] = this.openNow;
    }
  }
}
