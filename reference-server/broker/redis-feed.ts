// Live feeds over fire-and-forget pub/sub (Redis PUBLISH or SPUBLISH, core
// NATS) with the history in a store: one subscription per channel this
// instance has listeners on, kept gap-free across reconnects by reading
// history for what went missing, and delivered in id order. What a broker
// gives the feeds is feed-source.ts.
import { errorText } from "../../src/shared/errors.js";
import type { Gap, Message } from "../../src/shared/protocol.js";
import { callListeners, type FeedSource, type RawPage } from "./feed-source.js";
import type { GapListener, MessageListener, Unsubscribe } from "./types.js";

/** History read per catch-up pass. */
const CATCH_UP_BATCH = 500;

/** One channel this instance listens to in Redis, shared by all its local listeners. */
interface Feed {
  readonly channel: string;
  readonly pubsubChannel: string;
  readonly listeners: Set<MessageListener>;
  readonly gapListeners: Set<GapListener>;
  /** Highest id delivered to listeners (or the baseline at subscribe time). */
  lastId: number;
  /** Resolves once Redis confirmed the SUBSCRIBE and the baseline id is known. */
  ready: Promise<void>;
  /** True until ready, and while catching up from history: live messages wait in `queued`. */
  syncing: boolean;
  /** Set when more history must be read after the current catch-up pass. */
  refetch: boolean;
  /**
   * The subscriber connection dropped: live messages wait in `queued` until
   * the store was checked for lost data (their ids may have been reused).
   */
  suspended: boolean;
  /** Live message JSON received while syncing or after a gap, oldest first. */
  queued: string[];
}

export class RedisFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly source: FeedSource) {}

  /** A local listener on `channel`: the first one subscribes in Redis, the last one to leave unsubscribes. */
  async subscribe(
    channel: string,
    listener: MessageListener,
    onGap?: GapListener,
  ): Promise<Unsubscribe> {
    const pubsubChannel = this.source.pubsubChannel(channel);
    let feed = this.feeds.get(pubsubChannel);
    if (!feed) {
      const created: Feed = {
        channel,
        pubsubChannel,
        listeners: new Set(),
        gapListeners: new Set(),
        lastId: 0,
        ready: Promise.resolve(),
        syncing: true,
        refetch: false,
        suspended: false,
        queued: [],
      };
      created.ready = this.openFeed(created);
      this.feeds.set(pubsubChannel, created);
      feed = created;
    }
    feed.listeners.add(listener);
    if (onGap) feed.gapListeners.add(onGap);
    try {
      await feed.ready;
    } catch (error) {
      this.removeListener(feed, listener, onGap);
      throw error;
    }
    const subscribed = feed;
    return () => this.removeListener(subscribed, listener, onGap);
  }

  /** Every feed is dropped (the broker closes). */
  clear(): void {
    this.feeds.clear();
  }

  /** SUBSCRIBE, then take the channel's current id as the point "from now on". */
  private async openFeed(feed: Feed): Promise<void> {
    await this.source.upstream("subscribe", [feed.pubsubChannel]);
    // The SUBSCRIBE reply came first, so every id above this baseline reaches us live.
    const lastId = await this.source.lastId(feed.channel);
    // What arrived live before the read was answered was published after the
    // SUBSCRIBE, so the baseline stays below it.
    const firstLive =
      feed.queued.length > 0 ? idOf(feed.queued[0] as string) : Number.POSITIVE_INFINITY;
    const baseline = Math.min(lastId, firstLive - 1);
    // A channel nothing was published on yet starts at the id base, not below it.
    feed.lastId = Math.max(feed.lastId, baseline, this.source.idBase);
    feed.syncing = false;
    // A reconnect while subscribing, or a live message ahead of the baseline: read history.
    if (this.drainQueue(feed) || feed.refetch) void this.catchUp(feed);
  }

  private removeListener(feed: Feed, listener: MessageListener, onGap?: GapListener): void {
    feed.listeners.delete(listener);
    if (onGap) feed.gapListeners.delete(onGap);
    if (feed.listeners.size > 0 || this.feeds.get(feed.pubsubChannel) !== feed) return;
    // The last local listener left: stop receiving this channel from Redis.
    this.feeds.delete(feed.pubsubChannel);
    if (this.source.closing()) return;
    this.source.upstream("unsubscribe", [feed.pubsubChannel]).catch((error: unknown) => {
      this.source.log(
        `${this.source.name}: UNSUBSCRIBE ${feed.channel} failed: ${errorText(error)}`,
      );
    });
  }

  /** The per-message path: in order -> deliver; duplicate -> drop; ahead -> fetch what is missing. */
  onLive(pubsubChannel: string, json: string): void {
    const feed = this.feeds.get(pubsubChannel);
    if (!feed) return;
    if (feed.syncing || feed.suspended || feed.queued.length > 0) {
      feed.queued.push(json);
      if (!feed.syncing && !feed.suspended) void this.catchUp(feed);
      return;
    }
    const message = JSON.parse(json) as Message;
    if (message.id <= feed.lastId) return;
    if (message.id === feed.lastId + 1) {
      this.deliver(feed, message, json);
      return;
    }
    // Ids between lastId and this one went missing on the way (a reconnect): read them first.
    feed.queued.push(json);
    void this.catchUp(feed);
  }

  /**
   * The subscriber connection dropped: live messages wait until resyncAll()
   * has checked whether the store lost its data, so none is taken for a
   * duplicate (and dropped) because the store handed its id out again.
   */
  suspendAll(): void {
    if (!this.source.dataLost) return;
    for (const feed of this.feeds.values()) feed.suspended = true;
  }

  /** After the subscriber connection came back, every feed reads what it missed. */
  resyncAll(): void {
    const feeds = [...this.feeds.values()];
    if (feeds.length === 0) return;
    // Our own SUBSCRIBE, queued behind ioredis's automatic re-subscribe, answers
    // once Redis is sending us these channels again; only then is history read.
    this.source
      .upstream(
        "subscribe",
        feeds.map((feed) => feed.pubsubChannel),
      )
      .then(async () => {
        const lost = (await this.source.dataLost?.()) ?? false;
        for (const feed of feeds) {
          if (lost && this.feeds.get(feed.pubsubChannel) === feed) await this.afterDataLoss(feed);
          feed.suspended = false;
        }
      })
      .catch((error: unknown) => {
        for (const feed of feeds) feed.suspended = false;
        this.source.log(
          `${this.source.name}: re-subscribe after reconnect failed: ${errorText(error)}`,
        );
      })
      .finally(() => {
        for (const feed of feeds) {
          if (this.feeds.get(feed.pubsubChannel) === feed) void this.catchUp(feed);
        }
      });
  }

  /**
   * The store came back empty. Ids continue above what this feed delivered
   * (the counter is raised to it), and ids the store handed out again in the
   * meantime, at or below it, are a gap: their messages are never delivered
   * here, since a listener's ids only increase.
   */
  private async afterDataLoss(feed: Feed): Promise<void> {
    const before = (await this.source.raiseCounter?.(feed.channel, feed.lastId)) ?? 0;
    this.source.log(
      `${this.source.name}: ${feed.channel}: the store lost its data (restarted without persistence?); ids continue above ${feed.lastId}`,
    );
    if (before <= 0) return;
    // What the store holds is what was published since the loss; `before`
    // may also be another instance's raise, which stored no message.
    const first = (await this.source.readPage(feed.channel, 0, 1, 1)).jsons[0];
    const from = first === undefined ? Number.POSITIVE_INFINITY : idOf(first);
    const to = Math.min(before, feed.lastId);
    if (from <= to) this.gap(feed, { from, to });
  }

  /**
   * Reads history after the feed's last id and delivers it, then the queued live
   * messages, in id order. Runs once per feed at a time; a failed read (Redis
   * away again) leaves the queue for the next reconnect or live message.
   */
  private async catchUp(feed: Feed): Promise<void> {
    if (feed.syncing) {
      feed.refetch = true;
      return;
    }
    feed.syncing = true;
    try {
      let again = true;
      while (again && this.feeds.get(feed.pubsubChannel) === feed && !this.source.closing()) {
        feed.refetch = false;
        const page = await this.source.readPage(
          feed.channel,
          feed.lastId,
          CATCH_UP_BATCH,
          Number.MAX_SAFE_INTEGER,
        );
        this.applyHistory(feed, page);
        again = page.jsons.length === CATCH_UP_BATCH || feed.refetch || this.drainQueue(feed, page);
      }
    } catch (error) {
      this.source.log(
        `${this.source.name}: catching up on ${feed.channel} failed: ${errorText(error)}`,
      );
    } finally {
      feed.syncing = false;
    }
  }

  private applyHistory(feed: Feed, page: RawPage): void {
    if (page.lastId < feed.lastId) {
      this.source.log(
        `${this.source.name}: ${feed.channel}: the store knows ids up to ${page.lastId} but ${feed.lastId} were delivered; it lost its data (restarted without persistence?)`,
      );
    }
    if (page.gap && page.gap.to > feed.lastId) {
      this.source.log(
        `${this.source.name}: ${feed.channel}: ids ${page.gap.from}..${page.gap.to} were published while disconnected and are no longer in history`,
      );
      this.gap(feed, { from: Math.max(page.gap.from, feed.lastId + 1), to: page.gap.to });
      feed.lastId = page.gap.to;
    }
    for (const json of page.jsons) {
      const message = JSON.parse(json) as Message;
      if (message.id > feed.lastId) this.deliver(feed, message, json);
    }
  }

  /**
   * Delivers queued live messages that continue the sequence. Returns true when
   * the queue is stuck on a missing id that history may not have shown yet.
   */
  private drainQueue(feed: Feed, page?: RawPage): boolean {
    const queued = feed.queued;
    let index = 0;
    for (; index < queued.length; index++) {
      const json = queued[index] as string;
      const message = JSON.parse(json) as Message;
      if (message.id <= feed.lastId) continue;
      if (message.id !== feed.lastId + 1) {
        if (!page || page.lastId < message.id - 1) break;
        // History was read after this id existed and still lacks its predecessors: they are gone.
        this.source.log(
          `${this.source.name}: ${feed.channel}: ids ${feed.lastId + 1}..${message.id - 1} are missing from history`,
        );
        this.gap(feed, { from: feed.lastId + 1, to: message.id - 1 });
      }
      this.deliver(feed, message, json);
    }
    feed.queued = index === queued.length ? [] : queued.slice(index);
    return feed.queued.length > 0;
  }

  /** Tells the feed's listeners of ids they will never be given. */
  private gap(feed: Feed, gap: Gap): void {
    for (const listener of feed.gapListeners) listener(gap);
  }

  private deliver(feed: Feed, message: Message, json: string): void {
    feed.lastId = message.id;
    this.source.noteId(feed.channel, message.id);
    callListeners(feed.listeners, message, json, (error) =>
      this.source.log(
        `${this.source.name}: listener on ${feed.channel} threw: ${errorText(error)}`,
      ),
    );
  }
}

function idOf(json: string): number {
  return (JSON.parse(json) as Message).id;
}
