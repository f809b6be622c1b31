import type { BrokerKind } from "../../src/shared/brokers.js";
import type { Gap, Message } from "../../src/shared/protocol.js";

/**
 * What stands behind the reference server's transports: id assignment,
 * per-channel history for resume, fan-out, and presence.
 *
 * Implementations: `memory` (one instance); `redis`, `redis-sharded` and
 * `redis-streams` (redis.ts: several instances sharing ids, history and
 * fan-out through one Redis); `nats` (nats.ts: JetStream for ids and history,
 * core subjects for fan-out). Adding a broker (Postgres LISTEN/NOTIFY) is a
 * new file implementing this interface, a row in src/shared/brokers.ts and a
 * factory in ./registry.ts.
 */
export interface Broker {
  readonly kind: BrokerKind;

  /**
   * Assigns the next id of `channel`, stores the message in history and fans it out.
   * With a `dedupeKey` already used on the channel within {@link DEDUPE_WINDOW_MS}
   * it stores and fans out nothing and returns the message stored under that key:
   * a publisher that retries after a timeout or a 503 creates no duplicate.
   */
  publish(channel: string, body: unknown, dedupeKey?: string): Promise<Message>;

  /**
   * Messages of `channel` with id > `since`, oldest first, at most `limit` of
   * them and about `maxBytes` of JSON (the first message always fits).
   * `gap` is set when ids after `since` were published but are no longer retained.
   * `lastId` is the highest id ever assigned on the channel (0 if none).
   */
  read(channel: string, since: number, limit?: number, maxBytes?: number): Promise<HistoryRead>;

  /**
   * Live messages of `channel` published from now on, in id order, each with
   * its JSON text serialised once (`json` === JSON.stringify(message)), so
   * transports can share bytes across subscribers.
   * Returns a function that removes this listener. The broker subscribes
   * upstream (Redis) only while a channel has at least one listener.
   *
   * `onGap` hears of live messages this listener will never be given: ids
   * the backbone lost while this instance was cut off, or ids the backbone
   * handed out again after it lost its data (a Redis restarted without
   * persistence). Ids given to the listener only ever increase.
   */
  subscribe(channel: string, listener: MessageListener, onGap?: GapListener): Promise<Unsubscribe>;

  /** Marks `user` present on `channel` for `ttlMs`. */
  touchPresence(channel: string, user: string, ttlMs: number): Promise<void>;

  /** Users seen on `channel` within their TTL. */
  presence(channel: string): Promise<string[]>;

  /** Whether the broker can serve now; `/healthz` reports it. */
  health(): BrokerHealth;

  /**
   * Adds `users` to the members of `channel`; resolves with how many members
   * it has. Refuses all of them (MemberCapError) when that would pass a cap
   * of `limits`; the channel's members are forgotten `limits.ttlMs` after the
   * last add (memory: or the last time one came or left) while none is online.
   */
  addMembers(channel: string, users: readonly string[], limits?: MemberLimits): Promise<number>;

  /**
   * A member's connection opened: marks it online and takes its unread
   * counter (which starts again at 0). `lastId` is the channel's last id at
   * that moment: the counter covers what was published while it was offline
   * up to that id. Null for a user who is not a member.
   */
  memberOnline(channel: string, user: string): Promise<MemberReturn | null>;

  /**
   * A member's connection closed after it was sent every message up to
   * `lastSentId`: from now on it is offline (unless another of its
   * connections is open), and messages up to the channel's last id that it
   * was not sent count as unread too.
   */
  memberOffline(channel: string, user: string, lastSentId: number): Promise<void>;

  /** A member's unread count, left as it is; null for a user who is not a member. */
  unread(channel: string, user: string): Promise<number | null>;

  /**
   * Sends `json` to every instance's signal listeners of `channel` (presence
   * event batches): not stored, no id, no resume.
   */
  publishSignal(channel: string, json: string): Promise<void>;

  subscribeSignals(channel: string, listener: SignalListener): Promise<Unsubscribe>;

  /**
   * Operations performed so far, by kind, for a broker that counts its own
   * (memory); null when its service counts them (src/services/: Redis INFO
   * commandstats, NATS /varz on its monitoring port).
   */
  operationCounts(): Record<string, number> | null;

  close(): Promise<void>;
}

/**
 * How long a publish's dedupe key (`Idempotency-Key`) is remembered: the
 * default duplicate window of NATS JetStream, far longer than any retry.
 */
export const DEDUPE_WINDOW_MS = 120_000;

/** What one client may make the server remember through `PUT /api/members/C`. */
export interface MemberLimits {
  maxPerChannel: number;
  /** Over every channel of this broker (memory; Redis is bounded by its own maxmemory). */
  maxTotal: number;
  ttlMs: number;
}

/**
 * Enough for a tiered fan-out run of a million members on one instance
 * (about 100 bytes each in the memory broker); a day to run it in.
 */
export const DEFAULT_MEMBER_LIMITS: MemberLimits = {
  maxPerChannel: 1_000_000,
  maxTotal: 2_000_000,
  ttlMs: 24 * 3600_000,
};

/** Adding members would pass a cap: nothing was added. */
export class MemberCapError extends Error {
  readonly code = "MEMBER_CAP";

  constructor(message: string) {
    super(message);
    this.name = "MemberCapError";
  }
}

export type BrokerHealth = { state: "ok" } | { state: "unavailable"; reason: string };

/**
 * The broker cannot serve right now (Redis away or not answering in time).
 * The server answers 503 with the message, which says whether the operation
 * may still have taken effect.
 */
export class BrokerUnavailableError extends Error {
  readonly code = "BROKER_UNAVAILABLE";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BrokerUnavailableError";
  }
}

export interface HistoryRead {
  messages: Message[];
  /** `messages` as JSON text, each `=== JSON.stringify(message)`: what answers send. */
  jsons: string[];
  gap?: Gap;
  lastId: number;
}

export type MessageListener = (message: Message, json: string) => void;
export type GapListener = (gap: Gap) => void;
export type SignalListener = (json: string) => void;

/** What a returning member is told: its unread count, up to the channel's `lastId`. */
export interface MemberReturn {
  unread: number;
  lastId: number;
}

export interface BrokerOptions {
  /**
   * Tiered fan-out: every publish adds one to the unread counter of each
   * member of the channel that is offline, in the same step that assigns
   * the id, so a member coming back at the same moment is counted exactly once.
   */
  unreadCounters: boolean;
  /**
   * Every channel's ids start above this (default 0): instances that share
   * nothing number from different bases, so each can tell another's cursor.
   */
  idBase?: number;
  /**
   * Called after a sweep of the memory broker's history released messages,
   * with their JSON characters: the process may collect garbage now rather
   * than at its next allocation burst (an idle process never collects).
   */
  onReleased?: (chars: number) => void;
}
export type Unsubscribe = () => void;

/** What a broker over a backing service (Redis, NATS) is created with. */
export interface ServiceBrokerOptions {
  /** Where the service listens: `redis://host:port[/db]`, `nats://host:port`. */
  url: string;
  limits: HistoryLimits;
  /** Prepended to every key, stream and subject, so runs and tests do not share state. */
  keyPrefix?: string;
  /** Where connection-state lines go (default: stderr). */
  log?: (line: string) => void;
  /** A command unanswered this long fails, and the request behind it gets a 503. */
  commandTimeoutMs?: number;
  /** Tiered fan-out: count unread messages for offline members at publish (BrokerOptions). */
  unreadCounters?: boolean;
  /** Ids of every channel start above this (BrokerOptions). */
  idBase?: number;
}

export interface HistoryLimits {
  /** Messages kept per channel. */
  maxCount: number;
  /** Messages older than this are dropped from history. */
  maxAgeMs: number;
}

export const DEFAULT_HISTORY: HistoryLimits = { maxCount: 1000, maxAgeMs: 5 * 60_000 };
