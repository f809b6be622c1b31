import { isSlow } from "../../clients/network-profile.js";
import type { ClientNetwork } from "../../clients/shaped-socket.js";
import type { ClientHandlers, TransportClient } from "../../clients/types.js";
import { recordMs } from "../../metrics/histogram.js";
import { orderPosition, ReorderCounter, SeqTracker } from "../../metrics/seq-tracker.js";
import type { BrokerFaultAction } from "../../scenario/types.js";
import type { PresenceEvent } from "../../shared/protocol.js";
import type { TimerHandle } from "../../util/clock.js";
import { isSourceRefused } from "../../util/failure.js";
import { readStamp } from "../publisher/stamp.js";
import type { ClientAssignment } from "../shards/assign.js";
import { networkOf } from "../shards/network-plan.js";
import { admissionDelayMs, backoffDelayMs } from "./backoff.js";
import { CatchUp } from "./catch-up.js";
import { FallbackLadder } from "./fallback.js";
import { SlowConsumerWatch } from "./slow-consumers.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";
import { UnreadCheck } from "./unread-check.js";

/**
 * One simulated subscriber of a fleet across all its connections: turns its
 * client's events into the fleet's metrics and decides when and where to
 * reconnect. Its handlers are methods, so receiving a message allocates no
 * closure.
 */
export class Subscriber implements ClientHandlers {
  readonly tracker = new SeqTracker();
  firstReadyMs: number | null = null;
  /** Connected spans, flat [start, end, start, end...]; only when the fleet logs connections. */
  readonly spans: number[] = [];
  private order = new ReorderCounter();
  private client: TransportClient | null = null;
  private cursor: string | undefined;
  /** URL indexes in failover order (the client's own first), and where in that list it is. */
  private readonly route: number[];
  private routePos = 0;
  private retryTimer: TimerHandle | null = null;
  private ready = false;
  private attempted = false;
  /** Failed attempts since the last time the client was ready. */
  private failures = 0;
  /** When the current break was noticed (monotonic ms); null while connected. */
  private brokenAtMs: number | null = null;
  private lastMessageMs: number | null = null;
  /** Start of the outage to record at the first message after a reconnect. */
  private outageFromMs: number | null = null;
  private serverRetryMs: number | undefined;
  /** The channel's slot in the fleet's receipt ledger (receipt-ledger.ts). */
  private readonly ledgerSlot: number;
  /** Churn: away on purpose since this time (monotonic ms); null when not away. */
  private awayAtMs: number | null = null;
  /** Back from churn or a flap: messages sent before the return are what it missed. */
  private readonly churnReturn = new CatchUp();
  /** Back from the last broker fault (its end); null before the first one. */
  private brokerReturn: CatchUp | null = null;
  private brokerFault: BrokerFaultAction | null = null;
  private unreadCheck: UnreadCheck | null = null;
  /** The network this client sits behind, shared by its connections; undefined: loopback. */
  readonly network: ClientNetwork | undefined;
  /** The next of the network's returns (flap outages' ends) not yet taken as a return. */
  private nextReturn = 0;
  /** A reconnect resumed here (monotonic ms): messages sent before it came from history. */
  private resumedAtMs: number | null = null;
  /** With clients.slow: whether this one is slow, its worst latency or when it was cut. */
  readonly slowWatch: SlowConsumerWatch | null;
  /** With clients.fallback: the transports it tries in turn; null: the fleet's protocol only. */
  readonly fallback: FallbackLadder | null;

  constructor(
    private readonly fleet: SubscriberFleet,
    readonly assignment: ClientAssignment,
  ) {
    this.network = networkOf(fleet.spec, assignment.index);
    const slow = fleet.spec.slow;
    this.slowWatch = slow ? new SlowConsumerWatch(isSlow(slow, assignment.index)) : null;
    const count = fleet.spec.urls.length;
    const own = Math.max(0, fleet.spec.urls.indexOf(assignment.baseUrl));
    this.route = assignment.route ?? Array.from({ length: count }, (_, k) => (own + k) % count);
    this.ledgerSlot = fleet.timeline.ledger.slotOf(assignment.channel);
    const plan = fleet.spec.fallback;
    this.fallback = plan ? new FallbackLadder(plan, fleet, this) : null;
  }

  /** The instance (index into the run's URLs) this client is on or tries next. */
  get urlIndex(): number {
    return this.route[this.routePos] as number;
  }

  isBroken(): boolean {
    return this.brokenAtMs !== null;
  }

  /** Tried, and never got in (a client whose ramp-up slot never came did not try). */
  neverConnected(): boolean {
    return this.attempted && this.firstReadyMs === null;
  }

  /** Connected and not away. */
  isReady(): boolean {
    return this.ready;
  }

  /**
   * One connection attempt to the current URL. `sameAttempt`: the system
   * refused the client's source endpoint, so the attempt goes out again from
   * the system's choice and is not counted twice.
   */
  attempt(sameAttempt = false): void {
    const fleet = this.fleet;
    if (fleet.isClosed()) return;
    const { spec, context } = fleet;
    if (!sameAttempt) {
      if (this.brokenAtMs !== null) fleet.countAttempt();
      fleet.timeline.countAttempt(fleet.clock.now());
    }
    this.ready = false;
    this.attempted = true;
    const fallback = this.fallback;
    const client = fleet.createClient(fallback ? fallback.protocol : spec.protocol, {
      baseUrl: spec.urls[this.urlIndex] ?? this.assignment.baseUrl,
      channel: this.assignment.channel,
      user: this.assignment.user,
      source: this.assignment.source,
      since: spec.reconnect.resume ? this.cursor : undefined,
      settings: fallback ? fallback.settings : spec.settings,
      requestTimeoutMs: fleet.requestTimeoutMs,
      handlers: fallback ?? this,
      context,
      network: this.network,
    });
    this.client = client;
    fallback?.begin(fleet.clock.now(), () => this.stepTimedOut(client));
    client.connect().catch((error: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      client.close();
      if (this.assignment.source !== undefined && isSourceRefused(error)) {
        // A closing socket of this client's still holds its endpoint towards this server.
        this.assignment.source = undefined;
        this.attempt(true);
        return;
      }
      this.attemptFailed(client, error, false);
    });
  }

  /** clients.fallback: the step under way showed no sign of life in time; it is given up. */
  private stepTimedOut(client: TransportClient): void {
    if (this.client !== client) return;
    this.client = null;
    client.close();
    const error = new Error(
      `${client.protocol} not ready within ${this.fleet.spec.fallback?.stepTimeoutMs} ms (clients.fallbackTimeout)`,
    );
    this.attemptFailed(client, error, true);
  }

  /** An attempt failed (refused, an error, or a fallback step's timeout): the next step, or later. */
  private attemptFailed(client: TransportClient, error: unknown, timedOut: boolean): void {
    const fleet = this.fleet;
    // Before its first ready a fallback client goes straight on to its next transport.
    if (this.fallback?.stepFailed(timedOut)) {
      this.attempt();
      return;
    }
    fleet.noteConnectError(error);
    if (this.brokenAtMs === null) fleet.counters.connectFailures++;
    else fleet.counters.failedReconnects++;
    this.failures++;
    // As a load balancer would: the next attempt goes to the next instance of the route
    // (round-robin, or the channel's next instance on the hash ring).
    this.routePos = (this.routePos + 1) % this.route.length;
    this.retryLater(client.retryAfterMs);
  }

  stop(): void {
    if (this.retryTimer) this.fleet.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.fallback?.disarm();
    if (this.ready) {
      this.fleet.open--;
      this.endSpan();
    }
    this.ready = false;
    this.finishReturn();
    this.finishBrokerReturn();
    this.client?.close();
    this.client = null;
  }

  /**
   * Churn: leaves with a clean close (messages already on their way still
   * arrive and count), to come back with `comeBack()`. Not a break.
   */
  leave(): void {
    if (!this.ready || this.client === null) return;
    const fleet = this.fleet;
    this.ready = false;
    fleet.open--;
    fleet.counters.churnLeaves++;
    fleet.timeline.connectedChanged(fleet.clock.now(), fleet.open);
    this.endSpan();
    this.finishReturn();
    this.awayAtMs = fleet.clock.now();
    this.client.close();
    this.client = null;
  }

  /** Churn: back from `leave()`, resuming from the last message received. */
  comeBack(): void {
    if (this.awayAtMs === null) return;
    this.awayAtMs = null;
    this.churnReturn.begin(this.fleet.clock.now());
    this.attempt();
  }

  onReady(connectMs: number): void {
    const fleet = this.fleet;
    const nowMs = fleet.clock.now();
    this.ready = true;
    this.failures = 0;
    fleet.open++;
    fleet.timeline.connectedChanged(nowMs, fleet.open);
    fleet.measures.ready(nowMs);
    if (fleet.logsConnections) this.spans.push(nowMs, Number.NaN);
    if (this.firstReadyMs === null) {
      this.firstReadyMs = nowMs;
      recordMs(fleet.connect, connectMs);
    }
    this.resumedAtMs = this.brokenAtMs !== null && fleet.spec.reconnect.resume ? nowMs : null;
    if (this.brokenAtMs !== null) {
      recordMs(fleet.reconnect, nowMs - this.brokenAtMs);
      fleet.timeline.countReconnect(nowMs);
      this.brokenAtMs = null;
    }
  }

  onMessage(id: string, body: unknown): void {
    // Broken and not yet back: the connection given up for dead is still closing, and
    // what it brings now (a network that came back under it) an application has already
    // dropped with it, as a browser drops messages on a socket it closed.
    if (this.brokenAtMs !== null) return;
    const fleet = this.fleet;
    const nowMs = fleet.clock.now();
    fleet.received++;
    this.cursor = id;
    this.lastMessageMs = nowMs;
    const returns = this.network?.returnsMs;
    if (returns !== undefined && nowMs >= (returns[this.nextReturn] ?? Number.POSITIVE_INFINITY)) {
      this.flapReturn(returns, nowMs);
    }
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
    const timeline = fleet.timeline;
    const bucket = timeline.bucketAt(nowMs);
    timeline.countReceipt(bucket);
    if (this.order.add(orderPosition(id, stamp.seq))) fleet.counters.reordered++;
    if (this.resumedAtMs !== null && stamp.snt < this.resumedAtMs) fleet.counters.resumeRecovered++;
    // Sent before this client came back: it missed it, and is caught up once the last such arrives.
    this.churnReturn.see(stamp.snt, nowMs);
    this.brokerReturn?.see(stamp.snt, nowMs);
    if (this.unreadCheck?.see(Number(id))) this.finishUnreadCheck();
    if (stamp.sch >= fleet.spec.measureStartMs && stamp.sch < fleet.spec.measureEndMs) {
      recordMs(timeline.latencyIn(bucket), nowMs - stamp.sch);
      this.slowWatch?.delivered(nowMs - stamp.sch);
      recordMs(fleet.latencyFromSend, nowMs - stamp.snt);
      // Expected of this subscriber (load/result/aggregate.ts): sent once it was first ready.
      if (this.firstReadyMs !== null && stamp.snt >= this.firstReadyMs) {
        timeline.countDelivery(bucket, this.ledgerSlot, stamp.seq);
      }
      fleet.countDelivery(this.urlIndex);
    }
  }

  onUnrecognised(what?: string, frame?: unknown): void {
    this.fleet.countUnrecognised(what, frame);
  }

  onGap(_from: string, _to: string, reset?: boolean): void {
    // Loss across a gap shows up as missing sequence numbers; the marker itself is counted.
    this.fleet.counters.gaps++;
    // Ids start again (another instance's history): order is judged afresh.
    if (reset) this.order = new ReorderCounter();
  }

  /** Tiered fan-out: checked only for a member coming back from churn, whose cursor is known. */
  onUnread(count: number, lastId: string): void {
    if (
      this.churnReturn.returnedAtMs === null ||
      this.unreadCheck !== null ||
      this.cursor === undefined
    )
      return;
    this.unreadCheck = new UnreadCheck(count, Number(lastId), Number(this.cursor));
    if (this.unreadCheck.complete) this.finishUnreadCheck();
  }

  onPresence(events: readonly PresenceEvent[]): void {
    this.fleet.measures.presence(events);
  }

  onBreak(reason: string): void {
    const fleet = this.fleet;
    const client = this.client;
    if (!this.ready || client === null) return;
    this.ready = false;
    fleet.open--;
    fleet.timeline.connectedChanged(fleet.clock.now(), fleet.open);
    this.endSpan();
    fleet.logBreak(this.urlIndex, reason);
    this.brokenAtMs = fleet.clock.now();
    this.slowWatch?.broke(reason, this.brokenAtMs);
    // A subscriber that has not had a message yet has been out since the break.
    if (this.outageFromMs === null) this.outageFromMs = this.lastMessageMs ?? this.brokenAtMs;
    if (client.cursor !== undefined) this.cursor = client.cursor;
    this.serverRetryMs = client.retryMs;
    this.client = null;
    client.close();
    this.retryLater(client.retryAfterMs);
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
    this.onBreak(`no traffic for over ${limitMs} ms (client watchdog)`);
  }

  /**
   * The network came back from a flap (noticed at the first message after):
   * timed like a return from churn, from the outage's end to the last
   * message sent before it arriving (the replay, with resume).
   */
  private flapReturn(returns: readonly number[], nowMs: number): void {
    this.finishReturn();
    let returnedAtMs = 0;
    while (this.nextReturn < returns.length && (returns[this.nextReturn] as number) <= nowMs) {
      returnedAtMs = returns[this.nextReturn] as number;
      this.nextReturn++;
    }
    this.churnReturn.begin(returnedAtMs);
  }

  /** A return from churn is over (the client leaves again or stops): its catch-up time counts. */
  private finishReturn(): void {
    if (this.unreadCheck !== null) this.finishUnreadCheck();
    const caughtUpMs = this.churnReturn.caughtUpMs();
    if (caughtUpMs !== null) recordMs(this.fleet.catchUp, caughtUpMs);
    this.churnReturn.end();
  }

  /**
   * A broker fault ended at `atMs` (the parent said so, load/faults): this
   * subscriber's return from the previous one is over, and one from this one
   * begins, timed like a return from churn.
   */
  brokerBack(action: BrokerFaultAction, atMs: number): void {
    this.finishBrokerReturn();
    // One that never connected, or is away on purpose (churn), had nothing to recover.
    if (this.firstReadyMs === null || this.awayAtMs !== null) return;
    this.brokerFault = action;
    this.brokerReturn ??= new CatchUp();
    this.brokerReturn.begin(atMs);
  }

  /** The return from the last broker fault is over (the next one ended, or the clients stop). */
  private finishBrokerReturn(): void {
    const back = this.brokerReturn;
    if (back === null || back.returnedAtMs === null || this.brokerFault === null) return;
    this.fleet.measures.brokerReturn(this.brokerFault, back.recoveredMs(), back.caughtUpMs());
    back.end();
  }

  private finishUnreadCheck(): void {
    const check = this.unreadCheck;
    if (check === null) return;
    this.unreadCheck = null;
    this.fleet.counters.unreadChecked++;
    if (!check.matches) this.fleet.counters.unreadMismatches++;
  }

  private endSpan(): void {
    const last = this.spans.length - 1;
    if (last >= 0 && Number.isNaN(this.spans[last])) this.spans[last] = this.fleet.clock.now();
  }

  /** Plans the next attempt; `toldMs`: a full server said when to come back (retry-after.ts). */
  private retryLater(toldMs?: number): void {
    const fleet = this.fleet;
    if (fleet.isClosed() || this.retryTimer) return;
    const policy = fleet.spec.reconnect;
    if (this.brokenAtMs !== null && this.failures >= policy.maxRetries) {
      fleet.counters.gaveUp++;
      return;
    }
    let delayMs: number;
    if (policy.honorServerRetry && toldMs !== undefined) {
      fleet.counters.admissionWaits++;
      delayMs = admissionDelayMs(toldMs, fleet.random);
    } else {
      const firstDelayMs =
        policy.honorServerRetry && this.serverRetryMs !== undefined
          ? this.serverRetryMs
          : policy.initialDelayMs;
      delayMs = backoffDelayMs(policy, this.failures + 1, fleet.random, firstDelayMs);
    }
    this.retryTimer = fleet.clock.setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, delayMs);
  }
}
