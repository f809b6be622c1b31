import type { Publisher } from "../clients/publishers.js";
import { monoMs } from "../util/clock.js";
import { dueRange, type Schedule, scheduledMessage, scheduleLength } from "./schedule.js";
import { buildBody } from "./stamp.js";

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
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly schedule: Schedule,
    private readonly channels: string[],
    private readonly publishers: Publisher[],
    private readonly payloadBytes: number,
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
    const publisher = this.publishers[index % this.publishers.length] as Publisher;
    this.inFlight++;
    publisher.publish(channel, body).then(
      () => this.settle(record, true),
      () => this.settle(record, false),
    );
  }

  private settle(record: PublishRecord, acked: boolean): void {
    record.acked = acked;
    this.inFlight--;
    if (this.inFlight === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
