import { nowEpochMs, type PresenceEvent } from "../src/shared/protocol.js";
import type { Broker } from "./broker/types.js";

/**
 * Joins and leaves seen by this instance, sent to every instance's
 * subscribers of the channel through the broker. One message per event is
 * a fan-out of its own (N members joining a channel of N is N² frames), so
 * a channel's events are batched: at most one presence frame per channel
 * per `batchMs` from each instance. `batchMs` 0 sends each event at once.
 */
export class PresenceEvents {
  private readonly pending = new Map<string, PresenceEvent[]>();
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(
    private readonly broker: Broker,
    private readonly batchMs: number,
  ) {}

  joined(channel: string, user: string): void {
    this.note(channel, { user, event: "join", ts: nowEpochMs() });
  }

  left(channel: string, user: string): void {
    this.note(channel, { user, event: "leave", ts: nowEpochMs() });
  }

  /** Sends what is pending and stops the timer (shutdown). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  private note(channel: string, event: PresenceEvent): void {
    if (this.batchMs === 0) {
      this.send(channel, [event]);
      return;
    }
    const events = this.pending.get(channel);
    if (events) events.push(event);
    else this.pending.set(channel, [event]);
    this.timer ??= setInterval(() => this.flush(), this.batchMs);
  }

  private flush(): void {
    if (this.pending.size === 0) {
      // Nothing happened for a whole interval: no timer until something does.
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    for (const [channel, events] of this.pending) this.send(channel, events);
    this.pending.clear();
  }

  private send(channel: string, events: PresenceEvent[]): void {
    const frame = JSON.stringify({ type: "presence", events });
    this.broker.publishSignal(channel, frame).then(
      () => {
        this.failing = false;
      },
      (error: unknown) => {
        // One line when it starts failing, not one per batch while the broker is away.
        if (this.failing) return;
        this.failing = true;
        process.stderr.write(`presence events on ${channel} failing: ${String(error)}\n`);
      },
    );
  }
}
