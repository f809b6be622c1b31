import type { BrokerFaultAction } from "../../scenario/types.js";
import { CatchUp } from "./catch-up.js";
import type { SubscriberFleet } from "./subscriber-fleet.js";
import { UnreadCheck } from "./unread-check.js";

/**
 * One subscriber's returns, each timed by the stamps of what arrives after
 * it (catch-up.ts): back from churn or from a flap of its network, back from
 * a broker fault, and on a tiered server the unread count announced on the
 * way back, checked (unread-check.ts). `see` allocates nothing, and is
 * asked only while a return is under way. A subscriber makes its Returns at
 * its first return: until then its messages pay one null check.
 */
export class Returns {
  /** Back from churn or a flap: messages sent before the return are what it missed. */
  private readonly churn = new CatchUp();
  /** Back from the last broker fault (its end); null before the first one. */
  private broker: CatchUp | null = null;
  private brokerFault: BrokerFaultAction | null = null;
  private unreadCheck: UnreadCheck | null = null;
  /** The next of the network's returns (flap outages' ends) not yet taken as a return. */
  private nextFlapEnd = 0;

  constructor(private readonly fleet: SubscriberFleet) {}

  /**
   * A return is being timed, or an unread count checked: `see` wants the
   * messages. An unread check needs no test of its own: it begins only on a
   * return from churn (`unread`), and `end` finishes it before that return.
   */
  get underWay(): boolean {
    return (
      this.churn.returnedAtMs !== null ||
      (this.broker !== null && this.broker.returnedAtMs !== null)
    );
  }

  /** Back from churn at `atMs`. */
  begin(atMs: number): void {
    this.churn.begin(atMs);
  }

  /**
   * A message arrived at `nowMs` behind a network whose outages end at
   * `flapEndsMs`: past one of those ends, the network came back from a flap,
   * noticed at this first message after it. Timed like a return from churn,
   * from the outage's end to the last message sent before it arriving (the
   * replay, with resume).
   */
  sawNetwork(flapEndsMs: readonly number[], nowMs: number): void {
    if (nowMs < (flapEndsMs[this.nextFlapEnd] ?? Number.POSITIVE_INFINITY)) return;
    this.end();
    let returnedAtMs = 0;
    while (
      this.nextFlapEnd < flapEndsMs.length &&
      (flapEndsMs[this.nextFlapEnd] as number) <= nowMs
    ) {
      returnedAtMs = flapEndsMs[this.nextFlapEnd] as number;
      this.nextFlapEnd++;
    }
    this.churn.begin(returnedAtMs);
  }

  /**
   * A stamped message, new to this subscriber, sent at `sentMs` arrived at
   * `nowMs`: sent before a return, it was missed, and the subscriber is
   * caught up once the last such arrives.
   */
  see(id: string, sentMs: number, nowMs: number): void {
    this.churn.see(sentMs, nowMs);
    this.broker?.see(sentMs, nowMs);
    if (this.unreadCheck?.see(Number(id))) this.finishUnreadCheck();
  }

  /**
   * Tiered fan-out: the server announced `count` unread up to `lastId`;
   * checked only for a member coming back from churn, whose `cursor` is known.
   */
  unread(count: number, lastId: string, cursor: string | undefined): void {
    if (this.churn.returnedAtMs === null || this.unreadCheck !== null || cursor === undefined) {
      return;
    }
    this.unreadCheck = new UnreadCheck(count, Number(lastId), Number(cursor));
    if (this.unreadCheck.complete) this.finishUnreadCheck();
  }

  /**
   * A return from churn or a flap is over (the client leaves again, its
   * network goes again, or it stops): its catch-up time counts (the
   * catch-up measure, measures/catch-up.ts).
   */
  end(): void {
    if (this.unreadCheck !== null) this.finishUnreadCheck();
    const caughtUpMs = this.churn.caughtUpMs();
    if (caughtUpMs !== null) this.fleet.measures.caughtUp(caughtUpMs);
    this.churn.end();
  }

  /**
   * A broker fault ended at `atMs` (the parent said so, load/faults): the
   * return from the previous one is over, and one from this one begins,
   * timed like a return from churn.
   */
  brokerBack(action: BrokerFaultAction, atMs: number): void {
    this.endBroker();
    this.brokerFault = action;
    this.broker ??= new CatchUp();
    this.broker.begin(atMs);
  }

  /** The return from the last broker fault is over (the next one ended, or the clients stop). */
  endBroker(): void {
    const back = this.broker;
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
}
