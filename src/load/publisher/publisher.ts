import { randomBytes } from "node:crypto";
import type { Publisher } from "../../clients/publishers.js";
import type { PublishRecord } from "../../run-model/publish-record.js";
import type { PublishPayload } from "../../scenario/defaults.js";
import { errorText } from "../../shared/errors.js";
import { monoMs } from "../../util/clock.js";
import { classifyFailure } from "../../util/failure.js";
import { dueRange, type Schedule, scheduledMessage, scheduleLength } from "./schedule.js";
import { buildBody } from "./stamp.js";

/** A publisher whose server refused is skipped this long. */
const PUBLISHER_DOWN_MS = 1_000;
/** Refusal reasons kept word for word; more are only counted. */
const REFUSAL_REASONS_KEPT = 5;

export interface PublisherSettings {
  schedule: Schedule;
  channels: string[];
  /** One per server instance; messages go to them round-robin. */
  publishers: Publisher[];
  payloadBytes: number;
  /** text or random padding (publish.payload); default text. */
  payload?: PublishPayload;
  /** An acknowledgement later than this is `late` (the server is behind). */
  ackTimeoutMs: number;
  /** Publishes waiting for an answer at once, at most (like k6's maxVUs). */
  maxInFlight: number;
  /**
   * Start of the measured window (monotonic ms): a send behind schedule
   * before it is not judged (`maxLagMs`, `maxSlotWaitMs`), as no latency is
   * measured then; the warm-up is when ramp-up's last connections still
   * load the machine. Default: every send is judged.
   */
  judgedFromMs?: number;
  /**
   * Sticky routing: per channel index, the publishers (instances) in
   * failover order; without it messages take the publishers in turn.
   */
  routes?: readonly (readonly number[])[] | null;
}

/**
 * Publishes on a fixed schedule (open model): every message is sent when it
 * is due over as many concurrent requests as it takes, never queued behind an
 * earlier one's slow answer, up to `maxInFlight` at once. Latency is measured
 * from `dueMs`, so any delay in sending counts. Two kinds of delay are told
 * apart: the event loop waking late (`maxLagMs`: the generator's problem),
 * and every slot busy waiting for answers (`maxSlotWaitMs`: the server's).
 */
export class PublisherLoop {
  /** Records per channel index, in send order (sequence order). */
  readonly records: PublishRecord[][];
  /** Worst delay of a send behind its schedule with a slot free: the event loop woke late. */
  maxLagMs = 0;
  /** Worst delay of a send behind its schedule because all `maxInFlight` slots were busy. */
  maxSlotWaitMs = 0;
  /** Most publishes waiting for an answer at the same time. */
  peakInFlight = 0;
  /** Scheduled messages that were never sent (the run ended or stopped first). */
  notSent = 0;
  /** Why publishes were refused, by reason (first few reasons), with the first error's words. */
  readonly refusals = new Map<string, { count: number; example: string }>();
  private lastSentMs = Number.NEGATIVE_INFINITY;
  private readonly inFlight = new Map<PublishRecord, AbortController>();
  /** Per publisher: monotonic ms until which it is skipped after a refused publish. */
  private readonly downUntilMs: number[] = [];
  /** Sleepers to wake when an answer frees a slot (or the run gives up). */
  private readonly wakers = new Set<() => void>();
  /**
   * What a sleeper waits for, so that an answer wakes it only then: run()
   * for a free slot when all were busy, finish() for the last answer. An
   * answer waking run() while it waits for the next due time cost a timer
   * and a loop turn per publish.
   */
  private waitingForSlot = false;
  private finishing = false;
  /** Per publisher: every publisher from that one on, in turn (the order without sticky routes). */
  private readonly turns: number[][];
  /** Prefixes every idempotency key: this run's, not a previous run's on the same server. */
  private readonly runToken = randomBytes(6).toString("base64url");

  constructor(private readonly settings: PublisherSettings) {
    this.records = settings.channels.map(() => []);
    this.turns = settings.publishers.map((_, i) => turn(i, settings.publishers.length));
  }

  /** When the last message was sent (monotonic ms), or -Infinity before the first. */
  get lastSendMs(): number {
    return this.lastSentMs;
  }

  /** Sends until the schedule is done, `stopAtMs` passes, or `signal` aborts. */
  async run(signal: AbortSignal, stopAtMs = Number.POSITIVE_INFINITY): Promise<void> {
    const { schedule, maxInFlight } = this.settings;
    const total = scheduleLength(schedule);
    const onAbort = () => this.wakeAll();
    signal.addEventListener("abort", onAbort, { once: true });
    let next = 0;
    let waitedForSlot = false;
    try {
      while (next < total && !signal.aborted && monoMs() < stopAtMs) {
        const [, due] = dueRange(schedule, next, monoMs());
        while (next < due && this.inFlight.size < maxInFlight) this.send(next++, waitedForSlot);
        if (next >= total) break;
        // Full: wait until an answer frees a slot (settle wakes this loop); else until the next is due.
        waitedForSlot = this.inFlight.size >= maxInFlight;
        this.waitingForSlot = waitedForSlot;
        const untilMs = waitedForSlot ? stopAtMs : scheduledMessage(schedule, next).dueMs;
        await this.sleep(Math.max(0, Math.min(untilMs, stopAtMs) - monoMs()));
      }
    } finally {
      this.waitingForSlot = false;
      signal.removeEventListener("abort", onAbort);
      this.notSent = total - next;
    }
  }

  /**
   * Waits for the answers still outstanding until `deadlineMs` (monotonic),
   * then gives up on the rest: they are `unanswered`.
   */
  async finish(deadlineMs: number): Promise<void> {
    this.finishing = true;
    while (this.inFlight.size > 0 && monoMs() < deadlineMs) {
      await this.sleep(deadlineMs - monoMs());
    }
    for (const [record, abort] of this.inFlight) {
      record.outcome = "unanswered";
      abort.abort(new Error("no answer by the end of the run"));
    }
    this.inFlight.clear();
    this.wakeAll();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private send(index: number, waitedForSlot: boolean): void {
    const { schedule, channels, publishers, payloadBytes, payload } = this.settings;
    const message = scheduledMessage(schedule, index);
    const channel = channels[message.channelIndex] as string;
    const sentMs = monoMs();
    const behindMs = sentMs - message.dueMs;
    const judged = message.dueMs >= (this.settings.judgedFromMs ?? Number.NEGATIVE_INFINITY);
    if (judged && waitedForSlot) this.maxSlotWaitMs = Math.max(this.maxSlotWaitMs, behindMs);
    else if (judged) this.maxLagMs = Math.max(this.maxLagMs, behindMs);
    const record: PublishRecord = {
      seq: message.seq,
      dueMs: message.dueMs,
      sentMs,
      ackMs: null,
      outcome: "pending",
    };
    (this.records[message.channelIndex] as PublishRecord[]).push(record);
    this.lastSentMs = sentMs;
    const abort = new AbortController();
    this.inFlight.set(record, abort);
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight.size);
    const body = buildBody(channel, message.seq, message.dueMs, sentMs, payloadBytes, payload);
    const order =
      this.settings.routes?.[message.channelIndex] ??
      (this.turns[index % publishers.length] as number[]);
    // The body's unique key, made unique across runs too: a server that lives
    // longer than one run must not take this run's `room-0:1` for the last one's.
    const key = `${this.runToken}:${body.k}`;
    void this.publishAndSettle(record, order, channel, body, key, abort.signal);
  }

  /** One publish to its end (no closure per message: the record travels as an argument). */
  private async publishAndSettle(
    record: PublishRecord,
    order: readonly number[],
    channel: string,
    body: unknown,
    key: string,
    signal: AbortSignal,
  ): Promise<void> {
    this.settle(record, await this.publishWithFailover(order, channel, body, key, signal));
  }

  /**
   * Publishes through `order[0]`, or, when that instance is known down or refuses,
   * through the next one (publishers fail over as clients do). A publish that
   * is slow to be answered is never sent again: the server may have stored
   * it, and a second copy would show up as a duplicate.
   */
  private async publishWithFailover(
    order: readonly number[],
    channel: string,
    body: unknown,
    key: string,
    signal: AbortSignal,
  ): Promise<"answered" | "refused" | "unanswered"> {
    const { publishers } = this.settings;
    for (let attempt = 0; attempt < Math.min(order.length, 2); attempt++) {
      const i = this.pickUp(order, attempt);
      try {
        // The same idempotency key on the retry: if the refused attempt was
        // stored after all (a frozen broker woke), the server stores it once.
        await (publishers[i] as Publisher).publish(channel, body, signal, key);
        return "answered";
      } catch (error) {
        if (signal.aborted) return "unanswered";
        this.noteRefusal(error);
        this.downUntilMs[i] = monoMs() + PUBLISHER_DOWN_MS;
      }
    }
    return "refused";
  }

  /** The first publisher of `order` from position `start` on that is not marked down (or that one if all are). */
  private pickUp(order: readonly number[], start: number): number {
    const now = monoMs();
    for (let k = 0; k < order.length; k++) {
      const i = order[(start + k) % order.length] as number;
      if ((this.downUntilMs[i] ?? 0) <= now) return i;
    }
    return order[start % order.length] as number;
  }

  private noteRefusal(error: unknown): void {
    const { reason } = classifyFailure(error);
    const seen = this.refusals.get(reason);
    if (seen !== undefined) seen.count++;
    else if (this.refusals.size < REFUSAL_REASONS_KEPT) {
      const example = errorText(error);
      this.refusals.set(reason, { count: 1, example });
    }
  }

  private settle(record: PublishRecord, outcome: "answered" | "refused" | "unanswered"): void {
    // finish() already gave up on it: it stays unanswered.
    if (!this.inFlight.delete(record)) return;
    if (outcome === "answered") {
      record.ackMs = monoMs() - record.sentMs;
      record.outcome = record.ackMs <= this.settings.ackTimeoutMs ? "acked" : "late";
    } else {
      record.outcome = outcome;
    }
    // Someone waits only for a free slot (run) or for none in flight (finish).
    const left = this.inFlight.size;
    if (
      (left === 0 && this.finishing) ||
      (left === this.settings.maxInFlight - 1 && this.waitingForSlot)
    ) {
      this.wakeAll();
    }
  }
}

/** Every publisher, from the one whose turn message `index` is. */
function turn(index: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => (index + k) % count);
}
