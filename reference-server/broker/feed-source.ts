// What a broker gives the live feeds of redis-feed.ts (the Redis brokers
// over PUBLISH or SPUBLISH, the NATS broker over core subjects): how to
// subscribe upstream, how to read a page of history and the last id, and,
// for a store that can lose its data, how to notice and recover from it;
// and the fan-out both feed kinds share (redis-feed.ts, redis-stream-feed.ts).
import type { Gap, Message } from "../../src/shared/protocol.js";
import type { MessageListener } from "./types.js";

/** Messages after `since` as the broker holds them (Redis, or NATS's history), and the ids it no longer has. */
export interface RawPage {
  lastId: number;
  jsons: string[];
  gap?: Gap;
}

/** What the feeds need from the broker that owns them. */
export interface FeedSource {
  /** How log lines start ("redis broker"). */
  readonly name: string;
  /**
   * Subscribes to (or leaves) pub/sub channels; a subscribe resolves once the
   * broker confirmed it, so everything published afterwards arrives live.
   */
  upstream(action: "subscribe" | "unsubscribe", channels: string[]): Promise<unknown>;
  /** The channel's first id (a sticky instance numbers from its own base). */
  readonly idBase: number;
  readPage(channel: string, since: number, limit: number, maxBytes: number): Promise<RawPage>;
  /**
   * The channel's last id, read apart from history pages: a new listener's
   * first message must not wait behind other clients' catch-up reads.
   */
  lastId(channel: string): Promise<number>;
  pubsubChannel(channel: string): string;
  /** A message id delivered on `channel` (the broker keeps the highest as a floor). */
  noteId(channel: string, id: number): void;
  /**
   * Whether the store lost its data since this instance last looked (a Redis
   * restarted without persistence), after a reconnect. Absent: never asked.
   */
  dataLost?(): Promise<boolean>;
  /**
   * Raises the channel's id counter to at least `floorId`, so ids continue
   * above what was delivered; resolves with the counter as it was before.
   */
  raiseCounter?(channel: string, floorId: number): Promise<number>;
  closing(): boolean;
  log(line: string): void;
}

/** Calls every listener; one that throws must not stop fan-out to the others. */
export function callListeners(
  listeners: Set<MessageListener>,
  message: Message,
  json: string,
  onError: (error: unknown) => void,
): void {
  for (const listener of listeners) {
    try {
      listener(message, json);
    } catch (error) {
      onError(error);
    }
  }
}
