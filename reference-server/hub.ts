// Per-instance fan-out: one broker subscription per channel with local
// subscribers, each subscriber's place in it (a Membership: catch-up from
// history, then live, nothing lost or repeated between), and the fan-out of
// each live message to them. The message's wire forms, built once for
// everyone, and what a subscriber implements are delivery.ts.
import type { Gap, Message } from "../src/shared/protocol.js";
import type { ServerFanout } from "../src/shared/server-launch.js";
import type { Broker, Unsubscribe } from "./broker/types.js";
import { Delivery, type Subscriber } from "./delivery.js";
import { readAfter } from "./history.js";

/** Messages read from history per broker call while a subscriber catches up. */
const CATCH_UP_PAGE = 1000;
/** JSON bytes read from history per broker call while a subscriber catches up, about. */
const CATCH_UP_PAGE_BYTES = 256 * 1024;
/** Live deliveries a catching-up subscriber may hold, in JSON bytes; beyond, history serves them. */
const DEFAULT_MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * A subscriber's place in a channel feed. While it catches up from history,
 * live deliveries are buffered; afterwards only ids above the last one sent
 * pass, so resume never loses or repeats a message.
 */
export class Membership {
  lastSentId = 0;
  /** Live deliveries held while history is being sent; null once live. */
  pending: Delivery[] | null = [];
  private pendingBytes = 0;
  /**
   * Set when `pending` outgrew its limit and was emptied: the deliveries it
   * held are in history, so catching up reads on instead of relying on them.
   */
  overflowed = false;
  active = true;

  constructor(
    readonly channel: string,
    readonly subscriber: Subscriber,
    private readonly maxPendingBytes = DEFAULT_MAX_PENDING_BYTES,
  ) {}

  offer(delivery: Delivery): void {
    if (!this.active) return;
    if (this.pending) {
      this.pendingBytes += delivery.json.length;
      if (this.pendingBytes > this.maxPendingBytes) {
        this.pending = [];
        this.pendingBytes = 0;
        this.overflowed = true;
        return;
      }
      this.pending.push(delivery);
      return;
    }
    if (delivery.id <= this.lastSentId) return;
    this.lastSentId = delivery.id;
    this.subscriber.deliver(delivery);
  }

  /** Read fan-out: the subscriber hears that something is new, and fetches it itself. */
  announce(delivery: Delivery): void {
    if (!this.active) return;
    if (this.subscriber.notify) this.subscriber.notify(delivery);
    else this.offer(delivery);
  }
}

class ChannelFeed {
  readonly members = new Set<Membership>();
  unsubscribe: Unsubscribe | null = null;
  /** Stops presence signals for this channel; null while none are listened to. */
  unsubscribeSignals: Promise<Unsubscribe> | null = null;
  /** Settles when the broker subscription is in place. */
  ready: Promise<void> | null = null;
}

export interface HubOptions {
  /** Test-only: hold every live delivery this long (one timer per message, not per subscriber). */
  deliveryDelayMs: number;
  /** read: subscribers are told a message exists (`announce`) instead of sent it. Default write. */
  fanout?: ServerFanout;
  /** Pass the channel's presence signals (event batches) on to its subscribers. */
  presenceEvents?: boolean;
  /** Live deliveries one catching-up subscriber may hold, in JSON bytes. */
  maxPendingBytes?: number;
}

/**
 * Per-instance fan-out: one broker subscription per channel that has local
 * subscribers, shared by all of them, dropped when the last one leaves.
 */
export class Hub {
  private readonly feeds = new Map<string, ChannelFeed>();

  constructor(
    private readonly broker: Broker,
    private readonly options: HubOptions,
  ) {}

  /**
   * Adds `subscriber` to `channel`. With `since` null it starts from now;
   * otherwise it first receives the history after `since` (and a gap if part
   * of it is gone), then live messages, with nothing lost or repeated between.
   *
   * Subscribe first, read second: a message published during the read is
   * either in the read or in the pending buffer (or both; ids dedupe).
   */
  async join(channel: string, subscriber: Subscriber, since: number | null): Promise<Membership> {
    const membership = new Membership(channel, subscriber, this.options.maxPendingBytes);
    const feed = this.feed(channel);
    feed.members.add(membership);
    try {
      await feed.ready;
      if (since !== null) await this.catchUp(membership, since);
    } catch (error) {
      this.leave(membership);
      throw error;
    }
    const pending = membership.pending ?? [];
    membership.pending = null;
    for (const delivery of pending) membership.offer(delivery);
    return membership;
  }

  leave(membership: Membership): void {
    membership.active = false;
    membership.pending = null;
    const feed = this.feeds.get(membership.channel);
    if (feed === undefined || !feed.members.delete(membership) || feed.members.size > 0) return;
    this.feeds.delete(membership.channel);
    // A subscription still being set up is dropped by feed() as soon as it exists.
    feed.unsubscribe?.();
    feed.unsubscribeSignals?.then((stop) => stop()).catch(() => {});
  }

  /** Number of channels with a broker subscription (tests check ref-counting with it). */
  get channelCount(): number {
    return this.feeds.size;
  }

  /**
   * Replays history after `since`, a page at a time, waiting for the
   * subscriber's socket to drain between messages. Done when a read that
   * started after the pending buffer last overflowed reached the channel's
   * last id: everything newer is in the pending buffer.
   */
  private async catchUp(membership: Membership, since: number): Promise<void> {
    const { subscriber } = membership;
    let cursor = since;
    for (;;) {
      membership.overflowed = false;
      const read = await readAfter(
        this.broker,
        membership.channel,
        cursor,
        CATCH_UP_PAGE,
        CATCH_UP_PAGE_BYTES,
      );
      // A cursor from another history: this one is sent from its start, ids restart.
      if (read.gap?.reset) membership.lastSentId = 0;
      if (!membership.active) return;
      if (read.gap) subscriber.gap(read.gap);
      for (const [index, message] of read.messages.entries()) {
        if (!membership.active) return;
        membership.lastSentId = message.id;
        subscriber.deliver(new Delivery(message, read.jsons[index] as string));
        const backlog = subscriber.backlog?.();
        if (backlog) await backlog;
      }
      const last = read.messages.at(-1);
      cursor = last ? last.id : read.gap?.reset ? read.lastId : read.gap ? read.gap.to : cursor;
      membership.lastSentId = Math.max(membership.lastSentId, cursor);
      const progressed = read.messages.length > 0 || read.gap !== undefined;
      if ((cursor >= read.lastId || !progressed) && !membership.overflowed) return;
    }
  }

  private feed(channel: string): ChannelFeed {
    let feed = this.feeds.get(channel);
    if (feed) return feed;
    const created = new ChannelFeed();
    feed = created;
    this.feeds.set(channel, created);
    created.ready = this.broker
      .subscribe(
        channel,
        (message, json) => this.receive(created, message, json),
        (gap) => gapAll(created, gap),
      )
      .then((unsubscribe) => {
        created.unsubscribe = unsubscribe;
        // Everyone left while we were subscribing.
        if (this.feeds.get(channel) !== created) unsubscribe();
      });
    // The joiner that created the feed sees the error; later joiners get a fresh attempt.
    created.ready.catch(() => {
      if (this.feeds.get(channel) === created) this.feeds.delete(channel);
    });
    if (this.options.presenceEvents) this.listenForPresence(channel, created);
    return created;
  }

  /** Presence event batches from every instance, passed on to this instance's subscribers. */
  private listenForPresence(channel: string, feed: ChannelFeed): void {
    feed.unsubscribeSignals = this.broker.subscribeSignals(channel, (json) => {
      const frame = Buffer.from(json);
      for (const membership of feed.members) {
        if (membership.active) membership.subscriber.presence?.(frame);
      }
    });
    feed.unsubscribeSignals
      .then((stop) => {
        // Everyone left while we were subscribing.
        if (this.feeds.get(channel) !== feed) stop();
      })
      .catch((error: unknown) => {
        process.stderr.write(`presence events on ${channel}: subscribe failed: ${String(error)}\n`);
      });
  }

  private receive(feed: ChannelFeed, message: Message, json: string): void {
    const delivery = new Delivery(message, json);
    const fanOut = this.options.fanout === "read" ? announceAll : offerAll;
    if (this.options.deliveryDelayMs > 0) {
      setTimeout(fanOut, this.options.deliveryDelayMs, feed, delivery);
    } else {
      fanOut(feed, delivery);
    }
  }
}

/**
 * The backbone lost live messages: every subscriber that is live is told.
 * One still catching up reads history, which says what it lacks itself.
 */
function gapAll(feed: ChannelFeed, gap: Gap): void {
  for (const membership of feed.members) {
    if (membership.active && membership.pending === null) membership.subscriber.gap(gap);
  }
}

function offerAll(feed: ChannelFeed, delivery: Delivery): void {
  for (const membership of feed.members) membership.offer(delivery);
}

function announceAll(feed: ChannelFeed, delivery: Delivery): void {
  for (const membership of feed.members) membership.announce(delivery);
}
