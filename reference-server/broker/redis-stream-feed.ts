import type { Redis } from "ioredis";
import { errorText } from "../../src/shared/errors.js";
import type { Gap, Message } from "../../src/shared/protocol.js";
import { callListeners } from "./feed-source.js";
import type { RedisGuard } from "./redis-guard.js";
import type { GapListener, MessageListener, Unsubscribe } from "./types.js";

/**
 * The `redis-streams` broker's live feeds: one loop per instance that reads
 * every stream it has listeners on with one blocking XREAD, each from the
 * last id it delivered. The stream is the log, so nothing published while
 * the connection was down is missed: the next XREAD starts where the last
 * one stopped. Only what the stream no longer holds (trimmed while this
 * instance was away) is skipped, and said so.
 */

export interface StreamFeedSource {
  /** A connection of its own: XREAD BLOCK holds it. */
  readonly reader: Redis;
  /** Sends CLIENT UNBLOCK for the reader when a new channel must join the XREAD. */
  readonly control: Redis;
  readonly guard: RedisGuard;
  readonly idBase: number;
  streamKey(channel: string): string;
  lastId(channel: string): Promise<number>;
  noteId(channel: string, id: number): void;
  /** As FeedSource.dataLost (feed-source.ts): asked on each new reader connection. */
  dataLost(): Promise<boolean>;
  /** As FeedSource.raiseCounter: resolves with the counter before. */
  raiseCounter(channel: string, floorId: number): Promise<number>;
  log(line: string): void;
}

/** Entries per XREAD per stream. */
const READ_COUNT = 500;
/** Pause before the next XREAD after one failed (Redis away). */
const RETRY_MS = 100;

interface StreamFeed {
  readonly channel: string;
  readonly key: string;
  readonly listeners: Set<MessageListener>;
  readonly gapListeners: Set<GapListener>;
  /** Highest id delivered (or the baseline at subscribe time). */
  lastId: number;
}

type XReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

export class StreamFeeds {
  private readonly feeds = new Map<string, StreamFeed>();
  private closing = false;
  private running: Promise<void> | null = null;
  /** The reader's CLIENT ID while it is blocked in XREAD (null: not blocked). */
  private blockedClientId: number | null = null;
  /** Wakes the loop when the first feed arrives. */
  private wake: (() => void) | null = null;

  constructor(private readonly source: StreamFeedSource) {}

  async subscribe(
    channel: string,
    listener: MessageListener,
    onGap?: GapListener,
  ): Promise<Unsubscribe> {
    const key = this.source.streamKey(channel);
    let feed = this.feeds.get(key);
    if (!feed) {
      // Every id above the baseline is in the stream, so the first XREAD from it misses nothing.
      const lastId = Math.max(await this.source.lastId(channel), this.source.idBase);
      feed = this.feeds.get(key);
      if (!feed) {
        feed = { channel, key, listeners: new Set(), gapListeners: new Set(), lastId };
        this.feeds.set(key, feed);
        this.restartRead();
      }
    }
    feed.listeners.add(listener);
    if (onGap) feed.gapListeners.add(onGap);
    const subscribed = feed;
    return () => {
      subscribed.listeners.delete(listener);
      if (onGap) subscribed.gapListeners.delete(onGap);
      // The next XREAD leaves it out; one more batch of it may arrive and is dropped.
      if (subscribed.listeners.size === 0 && this.feeds.get(key) === subscribed) {
        this.feeds.delete(key);
      }
    };
  }

  /** Stops the loop (the broker closes). */
  clear(): void {
    this.closing = true;
    this.feeds.clear();
    this.wake?.();
  }

  /** A new stream must join: start the loop, or end the XREAD it is blocked in. */
  private restartRead(): void {
    this.running ??= this.loop();
    this.wake?.();
    const id = this.blockedClientId;
    if (id === null) return;
    this.blockedClientId = null;
    this.source.control.client("UNBLOCK", id).catch((error: unknown) => {
      this.source.log(`redis-streams broker: CLIENT UNBLOCK failed: ${errorText(error)}`);
    });
  }

  private async loop(): Promise<void> {
    const blockMs = Math.max(1, Math.floor(this.source.guard.commandTimeoutMs / 2));
    let clientId: number | null = null;
    /** The first connection needs no check: nothing was delivered before it. */
    let started = false;
    while (!this.closing) {
      if (this.feeds.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const feeds = [...this.feeds.values()];
      try {
        if (clientId === null) {
          // A new connection: Redis may have restarted empty, so check before
          // reading on from ids it may have handed out again.
          clientId = Number(await this.source.reader.client("ID"));
          if (started && (await this.source.dataLost())) {
            for (const feed of feeds) await this.afterDataLoss(feed);
          }
          started = true;
        }
        this.blockedClientId = clientId;
        const reply = (await this.source.reader.xread(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          blockMs,
          "STREAMS",
          ...feeds.map((feed) => feed.key),
          ...feeds.map((feed) => `${feed.lastId}-0`),
        )) as XReadReply;
        this.blockedClientId = null;
        if (reply !== null) this.deliverReply(reply);
      } catch (error) {
        this.blockedClientId = null;
        // A new connection has a new id; an UNBLOCK also lands here (UNBLOCKED reply).
        if (!/UNBLOCKED/.test(errorText(error))) clientId = null;
        if (this.closing) return;
        if (clientId === null) await sleep(RETRY_MS);
      }
    }
  }

  /**
   * The stream came back empty: ids continue above what this feed delivered,
   * and the ones handed out again at or below it are a gap (XREAD from the
   * feed's last id would skip them silently).
   */
  private async afterDataLoss(feed: StreamFeed): Promise<void> {
    const before = await this.source.raiseCounter(feed.channel, feed.lastId);
    this.source.log(
      `redis-streams broker: ${feed.channel}: Redis lost its data (restarted without persistence?); ids continue above ${feed.lastId}`,
    );
    if (before <= 0) return;
    // What the stream holds was added since the loss; `before` may also be
    // another instance's raise, which added no entry.
    const [first] = (await this.source.reader.xrange(feed.key, "-", "+", "COUNT", 1)) ?? [];
    const from = first ? Number.parseInt(first[0], 10) : Number.POSITIVE_INFINITY;
    const to = Math.min(before, feed.lastId);
    if (from <= to) this.gap(feed, { from, to });
  }

  private gap(feed: StreamFeed, gap: Gap): void {
    for (const listener of feed.gapListeners) listener(gap);
  }

  private deliverReply(reply: [string, [string, string[]][]][]): void {
    for (const [key, entries] of reply) {
      const feed = this.feeds.get(key);
      if (!feed) continue;
      for (const [entryId, fields] of entries) {
        const id = Number.parseInt(entryId, 10);
        if (id <= feed.lastId) continue;
        if (id > feed.lastId + 1) {
          this.source.log(
            `redis-streams broker: ${feed.channel}: ids ${feed.lastId + 1}..${id - 1} are no longer in the stream`,
          );
          this.gap(feed, { from: feed.lastId + 1, to: id - 1 });
        }
        const json = fields[1] as string;
        this.deliver(feed, JSON.parse(json) as Message, json);
      }
    }
  }

  private deliver(feed: StreamFeed, message: Message, json: string): void {
    feed.lastId = message.id;
    this.source.noteId(feed.channel, message.id);
    callListeners(feed.listeners, message, json, (error) =>
      this.source.log(
        `redis-streams broker: listener on ${feed.channel} threw: ${errorText(error)}`,
      ),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
