import type { ClientHandlers } from "../../clients/types.js";
import type { PresenceEvent } from "../../shared/protocol.js";
import type { ProtocolName, TransportSettings } from "../../shared/transports.js";
import type { TimerHandle } from "../../util/clock.js";
import type { FallbackPlan } from "../shards/shard-protocol.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";

/**
 * clients.fallback for one subscriber, as Socket.IO does it: the transport
 * its next attempt uses, the clock of the step under way, and the handlers
 * its clients report to, which pass every event on to the subscriber and
 * note its first ready (the transport it ended on) and first message. Until
 * the first ready, a failed step (connect error, refused upgrade or
 * response, no ready within the step timeout) goes straight to the next
 * step; once ready, the transport is settled and reconnects stay on it.
 * Only a fallback run has one: the others keep the subscriber as their
 * clients' handlers and pay nothing per message.
 */
export class FallbackLadder implements ClientHandlers {
  /** When the first attempt started (monotonic ms); null before it. */
  startedMs: number | null = null;
  /** Ready once: the current step is the transport it ended on. */
  settled = false;
  private step = 0;
  private waitingForFirstMessage = true;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly plan: FallbackPlan,
    private readonly fleet: SubscriberFleet,
    private readonly subscriber: Required<ClientHandlers>,
  ) {}

  get protocol(): ProtocolName {
    return this.current.protocol;
  }

  get settings(): TransportSettings {
    return this.current.settings;
  }

  /**
   * An attempt on the current step starts now; before the transport is
   * settled, `onTimeout` runs if it is not ready within the step timeout.
   */
  begin(nowMs: number, onTimeout: () => void): void {
    if (this.startedMs === null) this.startedMs = nowMs;
    this.disarm();
    if (this.settled) return;
    this.timer = this.fleet.clock.setTimeout(() => {
      this.timer = null;
      onTimeout();
    }, this.plan.stepTimeoutMs);
  }

  /**
   * The step under way failed before its first ready. True when there is a
   * next step to try now; false when this was the last, and the ladder starts
   * again from the first step at the subscriber's next (backed-off) attempt.
   */
  stepFailed(timedOut: boolean): boolean {
    this.disarm();
    if (this.settled) return false;
    this.fleet.measures.fallbackStep(
      this.protocol,
      timedOut ? "timed-out" : "failed",
      this.sinceStartMs(),
    );
    this.step = (this.step + 1) % this.plan.steps.length;
    return this.step !== 0;
  }

  disarm(): void {
    if (this.timer !== null) this.fleet.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  onReady(connectMs: number): void {
    this.disarm();
    if (!this.settled) {
      this.settled = true;
      this.fleet.measures.fallbackStep(this.protocol, "ready", this.sinceStartMs());
    }
    this.subscriber.onReady(connectMs);
  }

  onMessage(id: string, body: unknown): void {
    if (this.waitingForFirstMessage) {
      this.waitingForFirstMessage = false;
      this.fleet.measures.firstMessage(this.sinceStartMs());
    }
    this.subscriber.onMessage(id, body);
  }

  onGap(from: string, to: string, reset?: boolean): void {
    this.subscriber.onGap(from, to, reset);
  }

  onUnread(count: number, lastId: string): void {
    this.subscriber.onUnread(count, lastId);
  }

  onPresence(events: readonly PresenceEvent[]): void {
    this.subscriber.onPresence(events);
  }

  onUnrecognised(what?: string, frame?: unknown): void {
    this.subscriber.onUnrecognised(what, frame);
  }

  onBreak(reason: string): void {
    this.subscriber.onBreak(reason);
  }

  private sinceStartMs(): number {
    return this.fleet.clock.now() - (this.startedMs ?? this.fleet.clock.now());
  }

  private get current(): FallbackPlan["steps"][number] {
    return this.plan.steps[this.step] as FallbackPlan["steps"][number];
  }
}
