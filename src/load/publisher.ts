import type { Publisher } from "../clients/publishers.js";
import { monoMs } from "../util/clock.js";
import { dueRange, type Schedule, scheduledMessage, scheduleLength } from "./schedule.js";
import { buildBody } from "./stamp.js";

/** An unanswered publish counts as failed after this long. */
const PUBLISH_TIMEOUT_MS = 5_000;
/** A publisher whose server refused is skipped this long. */
const PUBLISHER_DOWN_MS = 1_000;

/** What happened to one scheduled message. */
export interface PublishRecord {
  seq: number;
  dueMs: number;
  sentMs: number;
  /** null while in flight; true once the server acknowledged it, false if it failed. */
  acked: boolean | null;
}

/**
 * Publishes on a fixed schedule (open model): every message is sent when it
 * is due, whether or not earlier ones have been answered, and the delay of a
 * late send counts in latency (latency is measured from `dueMs`).
 * Messages go to the publishers round-robin (one per server instance).
 */
export class PublisherLoop {
  /** Records per channel index, in sequence order. */
  readonly records: PublishRecord[][];
  /** Largest send delay behind schedule, ms: a publisher that falls behind is a generator problem. */
  maxLagMs = 0;
  private inFlight = 0;
  /** Per publisher: monotonic ms until which it is skipped after a refused publish. */
  private readonly downUntilMs: number[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly schedule: Schedule,
    private readonly channels: string[],
    private readonly publishers: Publisher[],
    private readonly payloadBytes: number,
    /**
     * Sticky routing: per channel index, the publishers (instances) in
     * failover order; without it messages take the publishers in turn.
     */
    private readonly routes: readonly (readonly number[])[] | null = null,
  ) {
    this.records = channels.map(() => []);
  }

  /** Runs until the schedule is done or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const total = scheduleLength(this.schedule);
    let next = 0;
    while (next < total && !signal.aborted) {
      const [from, to] = dueRange(this.schedule, next, monoMs());
      for (let i = from; i < to; i++) this.send(i);
      next = to;
      if (next >= total) break;
      const waitMs = scheduledMessage(this.schedule, next).dueMs - monoMs();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, waitMs)));
    }
  }

  /** Resolves when no publish is in flight any more, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private send(index: number): void {
    const message = scheduledMessage(this.schedule, index);
    const channel = this.channels[message.channelIndex] as string;
    const sentMs = monoMs();
    this.maxLagMs = Math.max(this.maxLagMs, sentMs - message.dueMs);
    const record: PublishRecord = { seq: message.seq, dueMs: message.dueMs, sentMs, acked: null };
    (this.records[message.channelIndex] as PublishRecord[]).push(record);
    const body = buildBody(channel, message.seq, message.dueMs, sentMs, this.payloadBytes);
    this.inFlight++;
    const order = this.routes?.[message.channelIndex] ?? this.turn(index);
    void this.publishWithFailover(order, channel, body).then((acked) => this.settle(record, acked));
  }

  /** Every publisher, from the one whose turn message `index` is. */
  private turn(index: number): number[] {
    const count = this.publishers.length;
    return Array.from({ length: count }, (_, k) => (index + k) % count);
  }

  /**
   * Publishes through `first`, or, when that instance is known down or refuses,
   * through the next one (publishers fail over as clients do). A publish that
   * times out is not retried: the server may have stored it, and sending it
   * again would show up as a duplicate.
   */
  private async publishWithFailover(
    order: readonly number[],
    channel: string,
    body: unknown,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < Math.min(order.length, 2); attempt++) {
      const i = this.pickUp(order, attempt);
      const outcome = await this.tryPublish(i, channel, body);
      if (outcome === "acked") return true;
      if (outcome === "timeout") return false;
      this.downUntilMs[i] = monoMs() + PUBLISHER_DOWN_MS;
    }
    return false;
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

  private tryPublish(
    i: number,
    channel: string,
    body: unknown,
  ): Promise<"acked" | "failed" | "timeout"> {
    const publisher = this.publishers[i] as Publisher;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), PUBLISH_TIMEOUT_MS);
      publisher.publish(channel, body).then(
        () => {
          clearTimeout(timer);
          resolve("acked");
        },
        () => {
          clearTimeout(timer);
          resolve("failed");
        },
      );
    });
  }

  private settle(record: PublishRecord, acked: boolean): void {
    record.acked = acked;
    this.inFlight--;
    if (this.inFlight === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
