// The Broker over Redis in one class, a little over 300 lines because it is
// one interface: publish, history reads, presence, members and signals over
// the same connections. Its parts live beside it: the live feeds
// (redis-feed.ts), the connections (redis-connections.ts), the Lua scripts
// (redis-scripts.ts), the timeouts and health probe (redis-guard.ts) and the
// batched presence touches (redis-presence.ts).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { errorText } from "../../src/shared/errors.js";
import { type Gap, type Message, nowEpochMs } from "../../src/shared/protocol.js";
import type { RawPage } from "./feed-source.js";
import {
  closeConnection,
  connectRedis,
  type RedisKind,
  type ScriptedRedis,
} from "./redis-connections.js";
import { RedisFeeds } from "./redis-feed.js";
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  failFastOptions,
  InFlightLimit,
  RedisGuard,
} from "./redis-guard.js";
import { PresenceBatcher } from "./redis-presence.js";
import { StreamFeeds } from "./redis-stream-feed.js";
import {
  type Broker,
  type BrokerHealth,
  DEDUPE_WINDOW_MS,
  DEFAULT_MEMBER_LIMITS,
  type GapListener,
  type HistoryRead,
  MemberCapError,
  type MemberLimits,
  type MemberReturn,
  type MessageListener,
  type ServiceBrokerOptions,
  type SignalListener,
  type Unsubscribe,
} from "./types.js";

export interface RedisBrokerOptions extends ServiceBrokerOptions {
  /**
   * How messages are stored and fanned out (default `redis`): `redis` keeps
   * history in a sorted set and fans out with PUBLISH; `redis-sharded` the
   * same with SPUBLISH/SSUBSCRIBE; `redis-streams` keeps history in a stream
   * (XADD) that instances XREAD.
   */
  kind?: RedisKind;
}

/** Users per SADD when members are added in bulk. */
const MEMBERS_PER_COMMAND = 1000;

/** Default page size of `read()` when the caller gives none (as the memory broker). */
const DEFAULT_READ_LIMIT = 1000;
/** History reads sent to Redis at once; more wait in this process, not in Redis's queue. */
const MAX_READS_IN_FLIGHT = 4;

/**
 * Several reference-server instances sharing ids, history and fan-out
 * through one Redis. Connects before resolving; an unreachable Redis is a
 * RUN_FAILED error.
 */
export async function createRedisBroker(options: RedisBrokerOptions): Promise<Broker> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  const kind = options.kind ?? "redis";
  const { commands, reads, subscriber } = await connectRedis(options.url, commandTimeoutMs, kind);
  // redis-streams: XREAD BLOCK holds a connection of its own.
  let streamReader: Redis | null = null;
  if (kind === "redis-streams") {
    streamReader = new Redis(options.url, failFastOptions(commandTimeoutMs));
    streamReader.on("error", () => {});
    await streamReader.connect();
  }
  const guard = new RedisGuard(
    { command: commands, read: reads, subscriber, ...(streamReader ? { streamReader } : {}) },
    commandTimeoutMs,
    options.url,
  );
  // The first probe measures Redis's clock before any publish needs a deadline.
  await guard.probe();
  guard.start();
  const broker = new RedisBroker(
    { commands, reads, subscriber, streamReader },
    guard,
    options,
    log,
  );
  await broker.dataLost();
  return broker;
}

/** Attempts, 100 ms apart, to read the epoch after a reconnect (the command connection may lag). */
const EPOCH_ATTEMPTS = 50;

/** What the broker's live path needs from either kind of feed. */
interface LiveFeeds {
  subscribe(channel: string, listener: MessageListener, onGap?: GapListener): Promise<Unsubscribe>;
  clear(): void;
}

class RedisBroker implements Broker {
  readonly kind: RedisKind;
  private readonly prefix: string;
  private readonly feeds: LiveFeeds;
  /** Signal listeners by pub/sub channel. */
  private readonly signals = new Map<string, Set<SignalListener>>();
  /** Highest id this instance saw per channel: the floor for ids after Redis lost its data. */
  private readonly highestIds = new Map<string, number>();
  private closing = false;
  /** Redis's data epoch as last read (EPOCH_SCRIPT); "" before the first read. */
  private epoch = "";

  /** Publishes (and the health probe). */
  private readonly commands: ScriptedRedis;
  /** History reads and presence. */
  private readonly reads: ScriptedRedis;
  private readonly subscriber: Redis;
  private readonly streamReader: Redis | null;
  private readonly readLimit = new InFlightLimit(MAX_READS_IN_FLIGHT);
  private readonly touches: PresenceBatcher;

  constructor(
    connections: {
      commands: ScriptedRedis;
      reads: ScriptedRedis;
      subscriber: Redis;
      streamReader: Redis | null;
    },
    private readonly guard: RedisGuard,
    private readonly options: RedisBrokerOptions,
    private readonly log: (line: string) => void,
  ) {
    ({
      commands: this.commands,
      reads: this.reads,
      subscriber: this.subscriber,
      streamReader: this.streamReader,
    } = connections);
    const { commands, reads, subscriber, streamReader } = connections;
    this.kind = options.kind ?? "redis";
    this.prefix = options.keyPrefix ?? "rtbench:";
    this.touches = new PresenceBatcher(reads, guard);
    this.watch(commands, "command connection", () => {});
    this.watch(reads, "read connection", () => {});
    let pubsubFeeds: RedisFeeds | null = null;
    if (streamReader !== null) {
      this.watch(streamReader, "stream reader connection", () => {});
      this.feeds = this.streamFeeds(streamReader);
    } else {
      pubsubFeeds = this.pubsubFeeds();
      this.feeds = pubsubFeeds;
    }
    const feeds = pubsubFeeds;
    this.watch(
      subscriber,
      "subscriber connection",
      () => feeds?.resyncAll(),
      () => feeds?.suspendAll(),
    );
    subscriber.on("message", (pubsubChannel: string, json: string) => {
      const signals = this.signals.get(pubsubChannel);
      if (signals) for (const listener of signals) listener(json);
      else feeds?.onLive(pubsubChannel, json);
    });
  }

  /** What either kind of feed asks of the broker: ids, and recovery after Redis lost its data. */
  private feedCallbacks() {
    return {
      idBase: this.options.idBase ?? 0,
      lastId: (channel: string) => this.lastId(channel),
      noteId: (channel: string, id: number) => this.noteId(channel, id),
      dataLost: () => this.dataLost(),
      raiseCounter: (channel: string, floorId: number) =>
        this.guard.run("publish", () =>
          this.commands.rtbenchRaiseCounter(this.key(channel, "id"), floorId),
        ),
      log: this.log,
    };
  }

  /** redis-streams: every instance reads the channel's stream with a blocking XREAD. */
  private streamFeeds(reader: Redis): StreamFeeds {
    return new StreamFeeds({
      ...this.feedCallbacks(),
      reader,
      control: this.commands,
      guard: this.guard,
      streamKey: (channel) => this.key(channel, "history"),
    });
  }

  /** redis and redis-sharded: PUBLISH (SPUBLISH) fan-out, history read back for what it lost. */
  private pubsubFeeds(): RedisFeeds {
    const { subscriber, guard } = this;
    const sharded = this.kind === "redis-sharded";
    const feeds = new RedisFeeds({
      ...this.feedCallbacks(),
      name: `${this.kind} broker`,
      upstream: (action, channels) => {
        if (action === "unsubscribe") {
          return sharded
            ? subscriber.sunsubscribe(...channels)
            : subscriber.unsubscribe(...channels);
        }
        return guard.run("subscribe", () =>
          sharded ? subscriber.ssubscribe(...channels) : subscriber.subscribe(...channels),
        );
      },
      readPage: (channel, since, limit, maxBytes) => this.readRaw(channel, since, limit, maxBytes),
      pubsubChannel: (channel) => this.pubsubChannel(channel),
      closing: () => this.closing,
    });
    // SSUBSCRIBE deliveries arrive as "smessage"; signals stay on classic pub/sub.
    if (sharded) {
      subscriber.on("smessage", (channel: string, json: string) => feeds.onLive(channel, json));
    }
    return feeds;
  }

  async publish(channel: string, body: unknown, dedupeKey?: string): Promise<Message> {
    const ts = nowEpochMs();
    const keys = [this.key(channel, "id"), this.key(channel, "history")] as const;
    // Serialised before anything is sent: a body that cannot be serialised costs no id.
    const bodyJson = JSON.stringify(body) ?? "null";
    const argv = (deadlineMs: number) =>
      [
        JSON.stringify(channel),
        JSON.stringify(ts),
        bodyJson,
        this.options.limits.maxCount,
        ts - this.options.limits.maxAgeMs,
        this.pubsubChannel(channel),
        Math.max(1, Math.ceil(this.options.limits.maxAgeMs)),
        Math.max(this.highestIds.get(channel) ?? 0, this.options.idBase ?? 0),
        deadlineMs,
        dedupeKey === undefined ? "" : `${this.key(channel, "dedupe")}:${dedupeKey}`,
        DEDUPE_WINDOW_MS,
      ] as const;
    const json = await this.guard.run("publish", () => {
      const deadlineMs = Math.floor(this.guard.publishDeadlineMs());
      return this.options.unreadCounters
        ? this.commands.rtbenchPublishTiered(
            ...keys,
            this.key(channel, "members"),
            this.key(channel, "online"),
            this.key(channel, "unread"),
            ...argv(deadlineMs),
          )
        : this.commands.rtbenchPublish(...keys, ...argv(deadlineMs));
    });
    const message = JSON.parse(json) as Message;
    this.noteId(channel, message.id);
    return message;
  }

  async read(
    channel: string,
    since: number,
    limit = DEFAULT_READ_LIMIT,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<HistoryRead> {
    const page = await this.readRaw(channel, since, limit, maxBytes);
    const { jsons, gap, lastId } = page;
    const messages = jsons.map((json) => JSON.parse(json) as Message);
    return gap ? { messages, jsons, gap, lastId } : { messages, jsons, lastId };
  }

  subscribe(channel: string, listener: MessageListener, onGap?: GapListener): Promise<Unsubscribe> {
    return this.feeds.subscribe(channel, listener, onGap);
  }

  touchPresence(channel: string, user: string, ttlMs: number): Promise<void> {
    return this.touches.touch(this.key(channel, "presence"), user, ttlMs);
  }

  async presence(channel: string): Promise<string[]> {
    // This instance's own touches first: a client that just connected here is listed.
    await this.touches.flush();
    const users = await this.guard.run("presence", () =>
      this.reads.zrangebyscore(this.key(channel, "presence"), `(${Date.now()}`, "+inf"),
    );
    return users.sort();
  }

  health(): BrokerHealth {
    return this.guard.health();
  }

  /**
   * The cap per channel is checked before the add, not atomically with it:
   * instances adding to one channel at once may pass it by one request each.
   * No total over channels here: Redis bounds its memory itself (maxmemory).
   */
  async addMembers(
    channel: string,
    users: readonly string[],
    limits: MemberLimits = DEFAULT_MEMBER_LIMITS,
  ): Promise<number> {
    const key = this.key(channel, "members");
    const unique = [...new Set(users)];
    const [size, known] = await this.guard.run("presence", () =>
      Promise.all([
        this.commands.scard(key),
        unique.length > 0 ? this.commands.smismember(key, ...unique) : Promise.resolve([]),
      ]),
    );
    const after = size + unique.length - known.filter((member) => member === 1).length;
    if (after > limits.maxPerChannel) {
      throw new MemberCapError(
        `${channel} would have ${after} members, more than the ${limits.maxPerChannel} a channel may have`,
      );
    }
    const pipeline = this.commands.pipeline();
    for (let i = 0; i < unique.length; i += MEMBERS_PER_COMMAND) {
      pipeline.sadd(key, ...unique.slice(i, i + MEMBERS_PER_COMMAND));
    }
    pipeline.pexpire(key, limits.ttlMs);
    pipeline.scard(key);
    const replies = (await this.guard.run("presence", () => pipeline.exec())) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw failed[0];
    return Number(replies.at(-1)?.[1] ?? 0);
  }

  async memberOnline(channel: string, user: string): Promise<MemberReturn | null> {
    const reply = await this.guard.run("presence", () =>
      this.commands.rtbenchMemberOnline(...this.memberKeys(channel), user),
    );
    return reply === null ? null : { unread: Number(reply[0]), lastId: Number(reply[1]) };
  }

  async memberOffline(channel: string, user: string, lastSentId: number): Promise<void> {
    await this.guard.run("presence", () =>
      this.commands.rtbenchMemberOffline(...this.memberKeys(channel), user, lastSentId),
    );
  }

  async unread(channel: string, user: string): Promise<number | null> {
    const [member, count] = await this.guard.run("presence", () =>
      Promise.all([
        this.commands.sismember(this.key(channel, "members"), user),
        this.commands.hget(this.key(channel, "unread"), user),
      ]),
    );
    return member === 1 ? Number(count ?? 0) : null;
  }

  async publishSignal(channel: string, json: string): Promise<void> {
    await this.guard.run("presence", () =>
      this.commands.publish(this.signalChannel(channel), json),
    );
  }

  async subscribeSignals(channel: string, listener: SignalListener): Promise<Unsubscribe> {
    const pubsubChannel = this.signalChannel(channel);
    let listeners = this.signals.get(pubsubChannel);
    if (!listeners) {
      listeners = new Set();
      this.signals.set(pubsubChannel, listeners);
      await this.guard.run("subscribe", () => this.subscriber.subscribe(pubsubChannel));
    }
    listeners.add(listener);
    const subscribed = listeners;
    return () => {
      subscribed.delete(listener);
      if (subscribed.size > 0 || this.signals.get(pubsubChannel) !== subscribed) return;
      this.signals.delete(pubsubChannel);
      if (this.closing) return;
      this.subscriber.unsubscribe(pubsubChannel).catch((error: unknown) => {
        this.log(`redis broker: UNSUBSCRIBE ${pubsubChannel} failed: ${errorText(error)}`);
      });
    };
  }

  /** Redis counts its own commands (INFO commandstats). */
  operationCounts(): null {
    return null;
  }

  async close(): Promise<void> {
    // Touches still waiting go out while the connections are open; a failure
    // has reached their callers already.
    await this.touches.flush().catch(() => {});
    this.closing = true;
    this.guard.stop();
    this.feeds.clear();
    this.signals.clear();
    // The stream reader may sit in XREAD BLOCK, and a QUIT would wait behind it.
    this.streamReader?.disconnect();
    await Promise.all([this.commands, this.reads, this.subscriber].map(closeConnection));
  }

  // --- history -------------------------------------------------------------

  private async readRaw(
    channel: string,
    since: number,
    limit: number,
    maxBytes: number,
  ): Promise<RawPage> {
    const [lastId, oldestId, jsons] = await this.readLimit.run(() =>
      this.guard.run("read", () =>
        this.reads.rtbenchRead(
          this.key(channel, "id"),
          this.key(channel, "history"),
          since,
          Math.max(0, Math.floor(limit)),
          nowEpochMs() - this.options.limits.maxAgeMs,
          Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(maxBytes))),
          this.options.limits.maxCount,
        ),
      ),
    );
    let gap: Gap | undefined;
    if (since < lastId && since + 1 < oldestId) gap = { from: since + 1, to: oldestId - 1 };
    return { lastId, jsons, gap };
  }

  /**
   * The channel's last id: one GET on the publish connection, so it never
   * waits behind history pages in the read queue or on the read connection.
   */
  private async lastId(channel: string): Promise<number> {
    const value = await this.guard.run("read", () => this.commands.get(this.key(channel, "id")));
    return Number(value ?? 0);
  }

  private noteId(channel: string, id: number): void {
    if (id > (this.highestIds.get(channel) ?? 0)) this.highestIds.set(channel, id);
  }

  private key(channel: string, part: KeyPart): string {
    return `${this.prefix}{${channel}}:${part}`;
  }

  /** KEYS of the member scripts: members, conns, online, unread, counter. */
  private memberKeys(channel: string): string[] {
    return (["members", "conns", "online", "unread", "id"] as const).map((part) =>
      this.key(channel, part),
    );
  }

  private pubsubChannel(channel: string): string {
    // A sharded channel carries the keys' hash tag, so it lives on their shard.
    return this.kind === "redis-sharded"
      ? `${this.prefix}{${channel}}:messages`
      : `${this.prefix}messages:${channel}`;
  }

  private signalChannel(channel: string): string {
    return `${this.prefix}signals:${channel}`;
  }

  /**
   * Whether Redis lost its data since the last call: its epoch key, written
   * by the first instance to find it missing, changed. Not Redis's run_id: a
   * Redis restarted with persistence has a new run_id and all its data.
   */
  async dataLost(): Promise<boolean> {
    let current: string | undefined;
    for (let attempt = 0; current === undefined; attempt++) {
      try {
        current = await this.guard.run("read", () =>
          this.commands.rtbenchEpoch(`${this.prefix}epoch`, randomUUID()),
        );
      } catch (error) {
        if (attempt + 1 >= EPOCH_ATTEMPTS || this.closing) throw error;
        await sleep(100);
      }
    }
    const lost = this.epoch !== "" && current !== this.epoch;
    this.epoch = current;
    return lost;
  }

  /** One stderr line when a connection drops and one when it is back. */
  private watch(redis: Redis, name: string, onBack: () => void, onLost?: () => void): void {
    let lost = false;
    let lastError = "";
    redis.on("error", (error: Error) => {
      lastError = error.message;
    });
    redis.on("close", () => {
      if (lost || this.closing) return;
      lost = true;
      onLost?.();
      this.log(
        `redis broker: ${name} to ${this.options.url} lost${lastError ? ` (${lastError})` : ""}; reconnecting`,
      );
    });
    redis.on("ready", () => {
      if (!lost || this.closing) return;
      lost = false;
      lastError = "";
      this.log(`redis broker: ${name} to ${this.options.url} is back`);
      onBack();
    });
  }
}

type KeyPart = "id" | "history" | "dedupe" | "presence" | "members" | "conns" | "online" | "unread";
