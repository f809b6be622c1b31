import { Redis } from "ioredis";
import { RtbenchError } from "../../src/shared/errors.js";
import type { Gap, Message } from "../../src/shared/protocol.js";
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  failFastOptions,
  InFlightLimit,
  RedisGuard,
} from "./redis-guard.js";
import {
  MEMBER_OFFLINE_SCRIPT,
  MEMBER_ONLINE_SCRIPT,
  PUBLISH_SCRIPT,
  PUBLISH_TIERED_SCRIPT,
  READ_SCRIPT,
  TOUCH_PRESENCE_SCRIPT,
} from "./redis-scripts.js";
import type {
  Broker,
  BrokerHealth,
  HistoryLimits,
  HistoryRead,
  MemberReturn,
  MessageListener,
  SignalListener,
  Unsubscribe,
} from "./types.js";

export interface RedisBrokerOptions {
  /** `redis://host:port[/db]` */
  url: string;
  limits: HistoryLimits;
  /** Prepended to every key and pub/sub channel, so runs and tests do not share state. */
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

/** Users per SADD when members are added in bulk. */
const MEMBERS_PER_COMMAND = 1000;

/** Default page size of `read()` when the caller gives none (as the memory broker). */
const DEFAULT_READ_LIMIT = 1000;
/** Page size when a subscription catches up from history after a break. */
const CATCH_UP_BATCH = 500;
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
  const commands = new Redis(options.url, failFastOptions(commandTimeoutMs)) as ScriptedRedis;
  // History reads get their own connection: replies to a connection come in
  // order, so a publish must not wait behind megabytes of poll answers.
  const reads = new Redis(options.url, failFastOptions(commandTimeoutMs)) as ScriptedRedis;
  const subscriber = new Redis(options.url, failFastOptions(commandTimeoutMs));
  const all = [commands, reads, subscriber];
  // Without a listener ioredis prints every connection error with a stack
  // ("Unhandled error event"); keep the first one for the message instead.
  let firstError: string | undefined;
  const remember = (error: Error) => {
    firstError ??= error.message;
  };
  for (const redis of all) redis.on("error", remember);
  try {
    await Promise.all(all.map((redis) => redis.connect()));
  } catch (error) {
    for (const redis of all) redis.disconnect();
    const reason = firstError ?? (error instanceof Error ? error.message : String(error));
    throw new RtbenchError(
      "RUN_FAILED",
      `redis broker: cannot connect to ${options.url}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  for (const redis of all) redis.off("error", remember);
  commands.defineCommand("rtbenchPublish", { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
  reads.defineCommand("rtbenchRead", { numberOfKeys: 2, lua: READ_SCRIPT });
  reads.defineCommand("rtbenchTouchPresence", { numberOfKeys: 1, lua: TOUCH_PRESENCE_SCRIPT });
  commands.defineCommand("rtbenchPublishTiered", { numberOfKeys: 5, lua: PUBLISH_TIERED_SCRIPT });
  commands.defineCommand("rtbenchMemberOnline", { numberOfKeys: 5, lua: MEMBER_ONLINE_SCRIPT });
  commands.defineCommand("rtbenchMemberOffline", { numberOfKeys: 5, lua: MEMBER_OFFLINE_SCRIPT });
  const guard = new RedisGuard(
    { command: commands, read: reads, subscriber },
    commandTimeoutMs,
    options.url,
  );
  // The first probe measures Redis's clock before any publish needs a deadline.
  await guard.probe();
  guard.start();
  return new RedisBroker({ commands, reads, subscriber }, guard, options, log);
}

interface ScriptedRedis extends Redis {
  rtbenchPublish(
    counterKey: string,
    historyKey: string,
    channelJson: string,
    tsJson: string,
    bodyJson: string,
    maxCount: number,
    cutoffMs: number,
    pubsubChannel: string,
    historyTtlMs: number,
    floorId: number,
    deadlineMs: number,
  ): Promise<string>;
  rtbenchRead(
    counterKey: string,
    historyKey: string,
    since: number,
    limit: number,
    cutoffMs: number,
    maxBytes: number,
  ): Promise<[number, number, string[]]>;
  rtbenchTouchPresence(key: string, user: string, nowMs: number, ttlMs: number): Promise<number>;
  rtbenchPublishTiered(...keysThenArgv: (string | number)[]): Promise<string>;
  rtbenchMemberOnline(...args: string[]): Promise<[number, number] | null>;
  rtbenchMemberOffline(...args: (string | number)[]): Promise<number>;
}

/** One channel this instance listens to in Redis, shared by all its local listeners. */
interface Feed {
  readonly channel: string;
  readonly pubsubChannel: string;
  readonly listeners: Set<MessageListener>;
  /** Highest id delivered to listeners (or the baseline at subscribe time). */
  lastId: number;
  /** Resolves once Redis confirmed the SUBSCRIBE and the baseline id is known. */
  ready: Promise<void>;
  /** True until ready, and while catching up from history: live messages wait in `queued`. */
  syncing: boolean;
  /** Set when more history must be read after the current catch-up pass. */
  refetch: boolean;
  /** Live message JSON received while syncing or after a gap, oldest first. */
  queued: string[];
}

class RedisBroker implements Broker {
  readonly kind = "redis";
  private readonly prefix: string;
  private readonly feeds = new Map<string, Feed>();
  /** Signal listeners by pub/sub channel. */
  private readonly signals = new Map<string, Set<SignalListener>>();
  /** Highest id this instance saw per channel: the floor for ids after Redis lost its data. */
  private readonly highestIds = new Map<string, number>();
  private closing = false;

  /** Publishes (and the health probe). */
  private readonly commands: ScriptedRedis;
  /** History reads and presence. */
  private readonly reads: ScriptedRedis;
  private readonly subscriber: Redis;
  private readonly readLimit = new InFlightLimit(MAX_READS_IN_FLIGHT);

  constructor(
    connections: { commands: ScriptedRedis; reads: ScriptedRedis; subscriber: Redis },
    private readonly guard: RedisGuard,
    private readonly options: RedisBrokerOptions,
    private readonly log: (line: string) => void,
  ) {
    ({ commands: this.commands, reads: this.reads, subscriber: this.subscriber } = connections);
    const { commands, reads, subscriber } = connections;
    this.prefix = options.keyPrefix ?? "rtbench:";
    this.watch(commands, "command connection", () => {});
    this.watch(reads, "read connection", () => {});
    this.watch(subscriber, "subscriber connection", () => this.resyncAll());
    subscriber.on("message", (pubsubChannel: string, json: string) =>
      this.onLive(pubsubChannel, json),
    );
  }

  async publish(channel: string, body: unknown): Promise<Message> {
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

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    const pubsubChannel = this.pubsubChannel(channel);
    let feed = this.feeds.get(pubsubChannel);
    if (!feed) {
      const created: Feed = {
        channel,
        pubsubChannel,
        listeners: new Set(),
        lastId: 0,
        ready: Promise.resolve(),
        syncing: true,
        refetch: false,
        queued: [],
      };
      created.ready = this.openFeed(created);
      this.feeds.set(pubsubChannel, created);
      feed = created;
    }
    feed.listeners.add(listener);
    try {
      await feed.ready;
    } catch (error) {
      this.removeListener(feed, listener);
      throw error;
    }
    const subscribed = feed;
    return () => this.removeListener(subscribed, listener);
  }

  async touchPresence(channel: string, user: string, ttlMs: number): Promise<void> {
    await this.guard.run("presence", () =>
      this.reads.rtbenchTouchPresence(
        this.key(channel, "presence"),
        user,
        Date.now(),
        Math.max(1, Math.ceil(ttlMs)),
      ),
    );
  }

  async presence(channel: string): Promise<string[]> {
    const users = await this.guard.run("presence", () =>
      this.reads.zrangebyscore(this.key(channel, "presence"), `(${Date.now()}`, "+inf"),
    );
    return users.sort();
  }

  health(): BrokerHealth {
    return this.guard.health();
  }

  async addMembers(channel: string, users: readonly string[]): Promise<number> {
    const key = this.key(channel, "members");
    const pipeline = this.commands.pipeline();
    for (let i = 0; i < users.length; i += MEMBERS_PER_COMMAND) {
      pipeline.sadd(key, ...users.slice(i, i + MEMBERS_PER_COMMAND));
    }
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
    this.closing = true;
    this.guard.stop();
    this.feeds.clear();
    this.signals.clear();
    await Promise.all([this.commands, this.reads, this.subscriber].map(closeConnection));
  }

  // --- subscriptions -------------------------------------------------------

  /** SUBSCRIBE, then take the channel's current id as the point "from now on". */
  private async openFeed(feed: Feed): Promise<void> {
    await this.guard.run("subscribe", () => this.subscriber.subscribe(feed.pubsubChannel));
    // The SUBSCRIBE reply came first, so every id above this baseline reaches us live.
    const page = await this.readRaw(feed.channel, Number.MAX_SAFE_INTEGER, 0, 0);
    // A channel nothing was published on yet starts at the id base, not below it.
    feed.lastId = Math.max(feed.lastId, page.lastId, this.options.idBase ?? 0);
    feed.syncing = false;
    // A reconnect while subscribing, or a live message ahead of the baseline: read history.
    if (this.drainQueue(feed) || feed.refetch) void this.catchUp(feed);
  }

  private removeListener(feed: Feed, listener: MessageListener): void {
    feed.listeners.delete(listener);
    if (feed.listeners.size > 0 || this.feeds.get(feed.pubsubChannel) !== feed) return;
    // The last local listener left: stop receiving this channel from Redis.
    this.feeds.delete(feed.pubsubChannel);
    if (this.closing) return;
    this.subscriber.unsubscribe(feed.pubsubChannel).catch((error: unknown) => {
      this.log(`redis broker: UNSUBSCRIBE ${feed.channel} failed: ${errorText(error)}`);
    });
  }

  /** The per-message path: in order -> deliver; duplicate -> drop; ahead -> fetch what is missing. */
  private onLive(pubsubChannel: string, json: string): void {
    const signals = this.signals.get(pubsubChannel);
    if (signals) {
      for (const listener of signals) listener(json);
      return;
    }
    const feed = this.feeds.get(pubsubChannel);
    if (!feed) return;
    if (feed.syncing || feed.queued.length > 0) {
      feed.queued.push(json);
      if (!feed.syncing) void this.catchUp(feed);
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

  /** After the subscriber connection came back, every feed reads what it missed. */
  private resyncAll(): void {
    const feeds = [...this.feeds.values()];
    if (feeds.length === 0) return;
    // Our own SUBSCRIBE, queued behind ioredis's automatic re-subscribe, answers
    // once Redis is sending us these channels again; only then is history read.
    this.subscriber
      .subscribe(...feeds.map((feed) => feed.pubsubChannel))
      .then(() => {
        for (const feed of feeds) {
          if (this.feeds.get(feed.pubsubChannel) === feed) void this.catchUp(feed);
        }
      })
      .catch((error: unknown) => {
        this.log(`redis broker: re-subscribe after reconnect failed: ${errorText(error)}`);
      });
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
      while (again && this.feeds.get(feed.pubsubChannel) === feed && !this.closing) {
        feed.refetch = false;
        const page = await this.readRaw(
          feed.channel,
          feed.lastId,
          CATCH_UP_BATCH,
          Number.MAX_SAFE_INTEGER,
        );
        this.applyHistory(feed, page);
        again = page.jsons.length === CATCH_UP_BATCH || feed.refetch || this.drainQueue(feed, page);
      }
    } catch (error) {
      this.log(`redis broker: catching up on ${feed.channel} failed: ${errorText(error)}`);
    } finally {
      feed.syncing = false;
    }
  }

  private applyHistory(feed: Feed, page: RawPage): void {
    if (page.lastId < feed.lastId) {
      this.log(
        `redis broker: ${feed.channel}: Redis knows ids up to ${page.lastId} but ${feed.lastId} were delivered; Redis lost its data (restarted without persistence?)`,
      );
    }
    if (page.gap && page.gap.to > feed.lastId) {
      this.log(
        `redis broker: ${feed.channel}: ids ${page.gap.from}..${page.gap.to} were published while disconnected and are no longer in history`,
      );
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
        this.log(
          `redis broker: ${feed.channel}: ids ${feed.lastId + 1}..${message.id - 1} are missing from history`,
        );
      }
      this.deliver(feed, message, json);
    }
    feed.queued = index === queued.length ? [] : queued.slice(index);
    return feed.queued.length > 0;
  }

  private deliver(feed: Feed, message: Message, json: string): void {
    feed.lastId = message.id;
    this.noteId(feed.channel, message.id);
    for (const listener of feed.listeners) {
      try {
        listener(message, json);
      } catch (error) {
        // One broken listener must not stop fan-out to the others.
        this.log(`redis broker: listener on ${feed.channel} threw: ${errorText(error)}`);
      }
    }
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
        ),
      ),
    );
    let gap: Gap | undefined;
    if (since < lastId && since + 1 < oldestId) gap = { from: since + 1, to: oldestId - 1 };
    return { lastId, jsons, gap };
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
    return `${this.prefix}messages:${channel}`;
  }

  private signalChannel(channel: string): string {
    return `${this.prefix}signals:${channel}`;
  }

  /** One stderr line when a connection drops and one when it is back. */
  private watch(redis: Redis, name: string, onBack: () => void): void {
    let lost = false;
    let lastError = "";
    redis.on("error", (error: Error) => {
      lastError = error.message;
    });
    redis.on("close", () => {
      if (lost || this.closing) return;
      lost = true;
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

type KeyPart = "id" | "history" | "presence" | "members" | "conns" | "online" | "unread";

interface RawPage {
  lastId: number;
  jsons: string[];
  gap?: Gap;
}

async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: the connection broke while quitting
    }
  }
  redis.disconnect();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Epoch milliseconds with the sub-millisecond fraction the message model asks for. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}
