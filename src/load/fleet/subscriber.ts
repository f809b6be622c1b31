import { isSlow } from "../../clients/network-profile.js";
import type { ClientNetwork } from "../../clients/shaped-socket.js";
import { recordMs } from "../../metrics/histogram.js";
import { orderPosition, ReorderCounter, SeqTracker } from "../../metrics/seq-tracker.js";
import type { BrokerFaultAction } from "../../scenario/types.js";
import type { PresenceEvent } from "../../shared/protocol.js";
import { readStamp } from "../publisher/stamp.js";
import type { ClientAssignment } from "../shards/assign.js";
import { networkOf } from "../shards/network-plan.js";
import { type Dialed, Dialer } from "./dialer.js";
import { FallbackLadder } from "./fallback.js";
import { Returns } from "./returns.js";
import { SlowConsumerWatch } from "./slow-consumers.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";

/**
 * One simulated subscriber of a fleet across all its connections: turns its
 * client's events into the fleet's metrics (what arrived: latency, sequence,
 * duplicates, order; and its connection's ups and downs). Getting connected
 * again is its dialer's (dialer.ts), timing its returns is `Returns`'
 * (returns.ts). Its handlers are methods, so receiving a message allocates
 * no closure.
 */
export class Subscriber implements Dialed {
  readonly tracker = new SeqTracker();
  firstReadyMs: number | null = null;
  /** Connected spans, flat [start, end, start, end...]; only when the fleet logs connections. */
  readonly spans: number[] = [];
  /** Where a resumed connection starts: the id of the last message received. */
  cursor: string | undefined;
  private order = new ReorderCounter();
  private readonly dialer: Dialer;
  /**
   * Made at its first return (churn, a flap's end, a broker fault's end):
   * most runs have none, and a subscriber then carries no Returns at all.
   */
  private returns: Returns | null = null;
  private ready = false;
  /** When the current break was noticed (monotonic ms); null while connected. */
  private brokenAtMs: number | null = null;
  private lastMessageMs: number | null = null;
  /** Start of the outage to record at the first message after a reconnect. */
  private outageFromMs: number | null = null;
  /** The channel's slot in the fleet's receipt ledger (receipt-ledger.ts). */
  private readonly ledgerSlot: number;
  /** Churn: away on purpose since this time (monotonic ms); null when not away. */
  private awayAtMs: number | null = null;
  /** The network this client sits behind, shared by its connections; undefined: loopback. */
  readonly network: ClientNetwork | undefined;
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
    this.ledgerSlot = fleet.timeline.ledger.slotOf(assignment.channel);
    const plan = fleet.spec.fallback;
    this.fallback = plan ? new FallbackLadder(plan, fleet, this) : null;
    this.dialer = new Dialer(fleet, this);
  }

  /** The instance (index into the run's URLs) this client is on or tries next. */
  get urlIndex(): number {
    return this.dialer.urlIndex;
  }

  isBroken(): boolean {
    return this.brokenAtMs !== null;
  }

  /** Tried, and never got in (a client whose ramp-up slot never came did not try). */
  neverConnected(): boolean {
    return this.dialer.attempted && this.firstReadyMs === null;
  }

  /** Connected and not away. */
  isReady(): boolean {
    return this.ready;
  }

  /** One connection attempt, to the instance its route names now (dialer.ts). */
  attempt(): void {
    this.dialer.attempt();
  }

  stop(): void {
    this.dialer.cancel();
    if (this.ready) {
      this.fleet.open--;
      this.endSpan();
    }
    this.ready = false;
    this.returns?.end();
    this.returns?.endBroker();
    this.dialer.hangUp();
  }

  /**
   * Churn: leaves with a clean close (messages already on their way still
   * arrive and count), to come back with `comeBack()`. Not a break.
   */
  leave(): void {
    if (!this.ready || this.dialer.client === null) return;
    const fleet = this.fleet;
    this.ready = false;
    fleet.open--;
    fleet.counters.churnLeaves++;
    fleet.timeline.connectedChanged(fleet.clock.now(), fleet.open);
    this.endSpan();
    this.returns?.end();
    this.awayAtMs = fleet.clock.now();
    this.dialer.hangUp();
  }

  /** Churn: back from `leave()`, resuming from the last message received. */
  comeBack(): void {
    if (this.awayAtMs === null) return;
    this.awayAtMs = null;
    this.returnsNow().begin(this.fleet.clock.now());
    this.dialer.attempt();
  }

  onReady(connectMs: number): void {
    const fleet = this.fleet;
    const nowMs = fleet.clock.now();
    this.ready = true;
    this.dialer.ready();
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
    const flapEndsMs = this.network?.returnsMs;
    if (flapEndsMs !== undefined && flapEndsMs.length > 0) this.sawNetwork(flapEndsMs, nowMs);
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
    const returns = this.returns;
    if (returns?.underWay) returns.see(id, stamp.snt, nowMs);
    if (stamp.sch >= fleet.spec.measureStartMs && stamp.sch < fleet.spec.measureEndMs) {
      recordMs(timeline.latencyIn(bucket), nowMs - stamp.sch);
      this.slowWatch?.delivered(nowMs - stamp.sch);
      recordMs(fleet.latencyFromSend, nowMs - stamp.snt);
      // Expected of this subscriber (load/result/aggregate.ts): sent once it was first ready.
      if (this.firstReadyMs !== null && stamp.snt >= this.firstReadyMs) {
        timeline.countDelivery(bucket, this.ledgerSlot, stamp.seq);
      }
      fleet.countDelivery(this.dialer.urlIndex);
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
    this.returns?.unread(count, lastId, this.cursor);
  }

  onPresence(events: readonly PresenceEvent[]): void {
    this.fleet.measures.presence(events);
  }

  onBreak(reason: string): void {
    const fleet = this.fleet;
    const client = this.dialer.client;
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
    this.dialer.broke(client);
  }

  /**
   * Watchdog: a ready streaming connection silent for longer than `limitMs`
   * is dead. Silence before `resumedAtMs` (this process was not running)
   * does not count.
   */
  checkSilence(nowMs: number, resumedAtMs: number, limitMs: number): void {
    const last = this.dialer.client?.lastActivityMs;
    if (!this.ready || last === undefined || last === 0) return;
    if (nowMs - Math.max(last, resumedAtMs) <= limitMs) return;
    this.fleet.counters.watchdogBreaks++;
    this.onBreak(`no traffic for over ${limitMs} ms (client watchdog)`);
  }

  /**
   * A broker fault ended at `atMs` (the parent said so, load/faults): this
   * subscriber's return from the previous one is over, and one from this one
   * begins, timed like a return from churn.
   */
  brokerBack(action: BrokerFaultAction, atMs: number): void {
    // One that never connected, or is away on purpose (churn), had nothing to recover.
    if (this.firstReadyMs === null || this.awayAtMs !== null) this.returns?.endBroker();
    else this.returnsNow().brokerBack(action, atMs);
  }

  /**
   * A message arrived at `nowMs` behind a network whose outages end at
   * `flapEndsMs` (not empty): past an end, a return from the flap (returns.ts).
   * Before the first end there is nothing to time, so no Returns is made yet.
   */
  private sawNetwork(flapEndsMs: readonly number[], nowMs: number): void {
    if (this.returns === null && nowMs < (flapEndsMs[0] as number)) return;
    this.returnsNow().sawNetwork(flapEndsMs, nowMs);
  }

  /** Its Returns, made now at its first return. */
  private returnsNow(): Returns {
    this.returns ??= new Returns(this.fleet);
    return this.returns;
  }

  private endSpan(): void {
    const last = this.spans.length - 1;
    if (last >= 0 && Number.isNaN(this.spans[last])) this.spans[last] = this.fleet.clock.now();
  }
}
