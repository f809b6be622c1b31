import type { ClientHandlers, TransportClient } from "../clients/types.js";
import { recordMs } from "../metrics/histogram.js";
import { orderPosition, ReorderCounter, SeqTracker } from "../metrics/seq-tracker.js";
import type { TimerHandle } from "../util/clock.js";
import type { ClientAssignment } from "./assign.js";
import { backoffDelayMs } from "./backoff.js";
import type { Fleet } from "./fleet.js";
import { readStamp } from "./stamp.js";

/**
 * One simulated subscriber of a fleet across all its connections: turns its
 * client's events into the fleet's metrics and decides when and where to
 * reconnect. Its handlers are methods, so receiving a message allocates no
 * closure.
 */
export class Subscriber implements ClientHandlers {
  readonly tracker = new SeqTracker();
  firstReadyMs: number | null = null;
  private readonly order = new ReorderCounter();
  private client: TransportClient | null = null;
  private cursor: string | undefined;
  private urlIndex: number;
  private retryTimer: TimerHandle | null = null;
  private ready = false;
  /** Failed attempts since the last time the client was ready. */
  private failures = 0;
  /** When the current break was noticed (monotonic ms); null while connected. */
  private brokenAtMs: number | null = null;
  private lastMessageMs: number | null = null;
  /** Start of the outage to record at the first message after a reconnect. */
  private outageFromMs: number | null = null;
  private serverRetryMs: number | undefined;

  constructor(
    private readonly fleet: Fleet,
    readonly assignment: ClientAssignment,
  ) {
    this.urlIndex = Math.max(0, fleet.spec.urls.indexOf(assignment.baseUrl));
  }

  isBroken(): boolean {
    return this.brokenAtMs !== null;
  }

  /** One connection attempt to the current URL. */
  attempt(): void {
    const fleet = this.fleet;
    if (fleet.isClosed()) return;
    const { spec, context } = fleet;
    if (this.brokenAtMs !== null) fleet.countAttempt();
    this.ready = false;
    const client = fleet.createClient(spec.protocol, {
      baseUrl: spec.urls[this.urlIndex] ?? this.assignment.baseUrl,
      channel: this.assignment.channel,
      user: this.assignment.user,
      since: spec.reconnect.resume ? this.cursor : undefined,
      settings: spec.settings,
      requestTimeoutMs: fleet.requestTimeoutMs,
      handlers: this,
      context,
    });
    this.client = client;
    client.connect().catch(() => {
      if (this.client !== client) return;
      this.client = null;
      client.close();
      if (this.brokenAtMs === null) fleet.counters.connectFailures++;
      else fleet.counters.failedReconnects++;
      this.failures++;
      // As a load balancer would: the next attempt goes to the next instance.
      this.urlIndex = (this.urlIndex + 1) % spec.urls.length;
      this.retryLater();
    });
  }

  stop(): void {
    if (this.retryTimer) this.fleet.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ready) this.fleet.open--;
    this.ready = false;
    this.client?.close();
    this.client = null;
  }

  onReady(connectMs: number): void {
    const fleet = this.fleet;
    const nowMs = fleet.clock.now();
    this.ready = true;
    this.failures = 0;
    fleet.open++;
    if (this.firstReadyMs === null) {
      this.firstReadyMs = nowMs;
      recordMs(fleet.connect, connectMs);
    }
    if (this.brokenAtMs !== null) {
      recordMs(fleet.reconnect, nowMs - this.brokenAtMs);
      this.brokenAtMs = null;
    }
  }

  onMessage(id: string, body: unknown): void {
    const fleet = this.fleet;
    const nowMs = fleet.clock.now();
    fleet.received++;
    this.cursor = id;
    this.lastMessageMs = nowMs;
    if (this.outageFromMs !== null) {
      recordMs(fleet.outage, nowMs - this.outageFromMs);
      this.outageFromMs = null;
    }
    const stamp = readStamp(body);
    if (stamp === null) {
      fleet.counters.unstamped++;
      return;
    }
    if (this.tracker.add(stamp.seq) === "duplicate") {
      fleet.counters.duplicates++;
      return;
    }
    if (this.order.add(orderPosition(id, stamp.seq))) fleet.counters.reordered++;
    if (stamp.sch >= fleet.spec.measureStartMs && stamp.sch < fleet.spec.measureEndMs) {
      recordMs(fleet.latency, nowMs - stamp.sch);
      recordMs(fleet.latencyFromSend, nowMs - stamp.snt);
    }
  }

  onUnrecognised(): void {
    this.fleet.counters.unrecognisedFrames++;
  }

  onGap(): void {
    // Loss across a gap shows up as missing sequence numbers; nothing to add here.
  }

  onBreak(): void {
    const fleet = this.fleet;
    const client = this.client;
    if (!this.ready || client === null) return;
    this.ready = false;
    fleet.open--;
    fleet.logBreak(this.urlIndex);
    this.brokenAtMs = fleet.clock.now();
    // A subscriber that has not had a message yet has been out since the break.
    if (this.outageFromMs === null) this.outageFromMs = this.lastMessageMs ?? this.brokenAtMs;
    if (client.cursor !== undefined) this.cursor = client.cursor;
    this.serverRetryMs = client.retryMs;
    this.client = null;
    client.close();
    this.retryLater();
  }

  /**
   * Watchdog: a ready streaming connection silent for longer than `limitMs`
   * is dead. Silence before `resumedAtMs` (this process was not running)
   * does not count.
   */
  checkSilence(nowMs: number, resumedAtMs: number, limitMs: number): void {
    const last = this.client?.lastActivityMs;
    if (!this.ready || last === undefined || last === 0) return;
    if (nowMs - Math.max(last, resumedAtMs) <= limitMs) return;
    this.fleet.counters.watchdogBreaks++;
    this.onBreak();
  }

  private retryLater(): void {
    const fleet = this.fleet;
    if (fleet.isClosed() || this.retryTimer) return;
    const policy = fleet.spec.reconnect;
    if (this.brokenAtMs !== null && this.failures >= policy.maxRetries) {
      fleet.counters.gaveUp++;
      return;
    }
    const firstDelayMs =
      policy.honorServerRetry && this.serverRetryMs !== undefined
        ? this.serverRetryMs
        : policy.initialDelayMs;
    const delayMs = backoffDelayMs(policy, this.failures + 1, fleet.random, firstDelayMs);
    this.retryTimer = fleet.clock.setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delayMs);
  }
}
