// The Broker over NATS: ids and history in JetStream, fan-out over core NATS.
//
// Each channel is a JetStream stream of its own, so the stream's sequence IS
// the channel's id (plus the id base): gap-free, per channel, shared by every
// instance, and assigned by JetStream as it stores the message, so instances
// publishing at once never race for an id. The stored entry is the message
// without its id (the sequence is the id; a reader splices it back in); the
// whole message goes out on a core subject, fire-and-forget, to every
// instance listening. What the core subject loses
// (a reconnect, a slow consumer) the feeds read back from the stream
// (redis-feed.ts does the same over Redis pub/sub).
//
// Presence and channel members are per instance (a memory broker inside):
// NATS 2.9 has no atomic counters for unread counts, and presence here is
// what this instance's clients touched. Signals (presence events) do cross
// instances, over core subjects.
import { createHash } from "node:crypto";
import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { errorText, RtbenchError } from "../../src/shared/errors.js";
import type { Gap, Message } from "../../src/shared/protocol.js";
import { createMemoryBroker } from "./memory.js";
import { type RawPage, RedisFeeds } from "./redis-feed.js";
import {
  type Broker,
  type BrokerHealth,
  BrokerUnavailableError,
  type GapListener,
  type HistoryRead,
  type MemberLimits,
  type MemberReturn,
  type MessageListener,
  type ServiceBrokerOptions,
  type SignalListener,
  type Unsubscribe,
} from "./types.js";

/** `url` is `nats://host:port`; `keyPrefix` is made subject-safe. */
export type NatsBrokerOptions = ServiceBrokerOptions;

const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Default page size of `read()` when the caller gives none (as the memory broker). */
const DEFAULT_READ_LIMIT = 1000;
/** Direct gets sent at once while reading a page. */
const READ_BATCH = 64;
const STREAM_NOT_FOUND = 10059;

/** Connects (with JetStream) before resolving; an unreachable NATS is a RUN_FAILED error. */
export async function createNatsBroker(options: NatsBrokerOptions): Promise<Broker> {
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  try {
    nc = await connect({
      servers: options.url,
      timeout,
      // Reconnect quickly and forever; a benchmark's broker restart lasts seconds.
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      // A frozen server is noticed by the requests' own timeouts, not only by pings.
      pingInterval: 2000,
      name: "rtbench reference server",
    });
  } catch (error) {
    throw new RtbenchError(
      "RUN_FAILED",
      `nats broker: cannot connect to ${options.url}: ${errorText(error)}`,
      { cause: error },
    );
  }
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (error) {
    await nc.close();
    throw new RtbenchError(
      "RUN_FAILED",
      `nats broker: JetStream is not available at ${options.url} (start nats-server with -js): ${errorText(error)}`,
      { cause: error },
    );
  }
  return new NatsBroker(nc, jetstream(nc, { timeout }), jsm, options, timeout);
}

/** One channel's names in NATS and what this instance knows of its stream. */
interface ChannelLog {
  readonly stream: string;
  /** The subject the stream captures. */
  readonly subject: string;
  /** The core subject live messages go out on. */
  readonly live: string;
  readonly signal: string;
  /** The channel name as JSON, spliced into every message's JSON. */
  readonly nameJson: string;
  /** Resolves once the stream exists; null until asked. */
  created: Promise<void> | null;
}

class NatsBroker implements Broker {
  readonly kind = "nats";
  private readonly prefix: string;
  private readonly idBase: number;
  private readonly channels = new Map<string, ChannelLog>();
  private readonly feeds: RedisFeeds;
  /** Core subscriptions of the feeds, by live subject. */
  private readonly liveSubs = new Map<string, Subscription>();
  private readonly signals = new Map<
    string,
    { listeners: Set<SignalListener>; sub: Subscription }
  >();
  /** Presence and members, per instance (see the top of this file). */
  private readonly local: Broker;
  private readonly log: (line: string) => void;
  private disconnected = false;
  /** Since when (epoch ms) requests have been timing out; null while NATS answers. */
  private silentSinceMs: number | null = null;
  private closing = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsBrokerOptions,
    private readonly timeoutMs: number,
  ) {
    this.log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.prefix = (options.keyPrefix ?? "rtbench:").replace(/[^A-Za-z0-9_-]/g, "_");
    this.idBase = options.idBase ?? 0;
    this.local = createMemoryBroker(options.limits, {
      unreadCounters: options.unreadCounters ?? false,
      idBase: this.idBase,
    });
    this.feeds = new RedisFeeds({
      name: "nats broker",
      upstream: (action, subjects) => this.upstream(action, subjects),
      idBase: this.idBase,
      readPage: (channel, since, limit, maxBytes) => this.readRaw(channel, since, limit, maxBytes),
      lastId: (channel) => this.lastId(channel),
      pubsubChannel: (channel) => this.channel(channel).live,
      noteId: () => {},
      closing: () => this.closing,
      log: this.log,
    });
    void this.watchStatus();
  }

  async publish(channel: string, body: unknown, dedupeKey?: string): Promise<Message> {
    // Serialised before anything is sent: a body that cannot be serialised costs no id.
    const bodyJson = JSON.stringify(body) ?? "null";
    return this.append(this.channel(channel), bodyJson, body, dedupeKey);
  }

  /**
   * A `dedupeKey` goes out as the JetStream message id (`Nats-Msg-Id`): the
   * stream stores a repeat within its duplicate window (2 min by default, at
   * most the history's max age) once. That covers the copy a frozen server
   * stores when it wakes, after this publish was answered 503 and the
   * publisher sent it again.
   */
  private async append(
    log: ChannelLog,
    bodyJson: string,
    body: unknown,
    dedupeKey: string | undefined,
  ): Promise<Message> {
    await this.ensureStream(log);
    const ts = nowEpochMs();
    const stored = `{"channel":${log.nameJson},"ts":${JSON.stringify(ts)},"body":${bodyJson}}`;
    try {
      const ack = await this.js.publish(log.subject, stored, {
        timeout: this.timeoutMs,
        ...(dedupeKey === undefined ? {} : { msgID: dedupeKey }),
      });
      this.silentSinceMs = null;
      if (ack.duplicate) return await this.storedCopy(log, ack.seq, stored);
      const id = this.idBase + ack.seq;
      // Fire-and-forget fan-out; what it loses the feeds read back from the stream.
      this.nc.publish(log.live, withId(id, stored));
      return { id, channel: JSON.parse(log.nameJson) as string, ts, body: body ?? null };
    } catch (error) {
      throw this.unavailable("publish", error);
    }
  }

  /** The message a repeated key stored first; trimmed meanwhile, its id with the repeat's body. */
  private async storedCopy(log: ChannelLog, seq: number, repeatStored: string): Promise<Message> {
    const stored = await this.request("read", () =>
      this.jsm.direct.getMessage(log.stream, { seq }),
    );
    const message = JSON.parse(stored?.string() ?? repeatStored) as Message;
    message.id = this.idBase + seq;
    return message;
  }

  async read(
    channel: string,
    since: number,
    limit = DEFAULT_READ_LIMIT,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<HistoryRead> {
    const { jsons, gap, lastId } = await this.readRaw(channel, since, limit, maxBytes);
    const messages = jsons.map((json) => JSON.parse(json) as Message);
    return gap ? { messages, jsons, gap, lastId } : { messages, jsons, lastId };
  }

  subscribe(channel: string, listener: MessageListener, onGap?: GapListener): Promise<Unsubscribe> {
    return this.feeds.subscribe(channel, listener, onGap);
  }

  touchPresence(channel: string, user: string, ttlMs: number): Promise<void> {
    return this.local.touchPresence(channel, user, ttlMs);
  }

  presence(channel: string): Promise<string[]> {
    return this.local.presence(channel);
  }

  health(): BrokerHealth {
    if (this.disconnected) {
      return {
        state: "unavailable",
        reason: `the connection to NATS at ${this.options.url} is down (reconnecting)`,
      };
    }
    if (this.silentSinceMs !== null) {
      return {
        state: "unavailable",
        reason: `NATS at ${this.options.url} has not answered within ${this.timeoutMs} ms since ${new Date(this.silentSinceMs).toISOString()}`,
      };
    }
    return { state: "ok" };
  }

  addMembers(channel: string, users: readonly string[], limits?: MemberLimits): Promise<number> {
    return this.local.addMembers(channel, users, limits);
  }

  memberOnline(channel: string, user: string): Promise<MemberReturn | null> {
    return this.local.memberOnline(channel, user);
  }

  memberOffline(channel: string, user: string, lastSentId: number): Promise<void> {
    return this.local.memberOffline(channel, user, lastSentId);
  }

  unread(channel: string, user: string): Promise<number | null> {
    return this.local.unread(channel, user);
  }

  async publishSignal(channel: string, json: string): Promise<void> {
    this.nc.publish(this.channel(channel).signal, json);
  }

  async subscribeSignals(channel: string, listener: SignalListener): Promise<Unsubscribe> {
    const subject = this.channel(channel).signal;
    let entry = this.signals.get(subject);
    if (!entry) {
      const listeners = new Set<SignalListener>();
      const sub = this.nc.subscribe(subject, {
        callback: (_error, msg) => {
          for (const each of listeners) each(msg.string());
        },
      });
      entry = { listeners, sub };
      this.signals.set(subject, entry);
      await this.nc.flush();
    }
    entry.listeners.add(listener);
    const subscribed = entry;
    return () => {
      subscribed.listeners.delete(listener);
      if (subscribed.listeners.size > 0 || this.signals.get(subject) !== subscribed) return;
      this.signals.delete(subject);
      subscribed.sub.unsubscribe();
    };
  }

  /** NATS counts its own messages (its monitoring port); nothing here. */
  operationCounts(): null {
    return null;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.feeds.clear();
    await this.local.close();
    await this.nc.close();
  }

  // --- history -------------------------------------------------------------

  /**
   * Messages after `since` from the channel's stream, one direct get per
   * sequence, sent {@link READ_BATCH} at a time. The stream keeps maxCount
   * messages (at least 1, so its last sequence always survives) and drops
   * them after maxAge; the read applies both limits exactly as well.
   */
  private async readRaw(
    channel: string,
    since: number,
    limit: number,
    maxBytes: number,
  ): Promise<RawPage> {
    const log = this.channel(channel);
    const state = await this.streamState(log);
    const lastId = this.idBase + state.last;
    const cutoffMs = nowEpochMs() - this.options.limits.maxAgeMs;
    let oldestSeq = Math.max(state.first, state.last - this.options.limits.maxCount + 1, 1);
    let seq = Math.max(since - this.idBase + 1, oldestSeq);
    const jsons: string[] = [];
    let bytes = 0;
    let full = false;
    while (!full && jsons.length < limit && seq <= state.last) {
      const batch: number[] = [];
      for (; batch.length < READ_BATCH && seq <= state.last; seq++) batch.push(seq);
      const stored = await this.request("read", () =>
        Promise.all(batch.map((s) => this.jsm.direct.getMessage(log.stream, { seq: s }))),
      );
      for (const [index, message] of stored.entries()) {
        const entry = message?.string();
        const entrySeq = batch[index] as number;
        // Gone from the stream, or older than maxAge: before everything a reader may see.
        if (entry === undefined || tsOf(entry) < cutoffMs) {
          if (jsons.length === 0) oldestSeq = Math.max(oldestSeq, entrySeq + 1);
          continue;
        }
        const json = withId(this.idBase + entrySeq, entry);
        if (jsons.length >= limit || (jsons.length > 0 && bytes + json.length > maxBytes)) {
          full = true;
          break;
        }
        jsons.push(json);
        bytes += json.length;
      }
    }
    const oldestId = this.idBase + oldestSeq;
    let gap: Gap | undefined;
    if (since < lastId && since + 1 < oldestId) {
      gap = { from: since + 1, to: Math.min(oldestId, lastId + 1) - 1 };
    }
    return { lastId, jsons, gap };
  }

  private async lastId(channel: string): Promise<number> {
    return this.idBase + (await this.streamState(this.channel(channel))).last;
  }

  /** The stream's first and last sequence; a stream that does not exist yet has none. */
  private async streamState(log: ChannelLog): Promise<{ first: number; last: number }> {
    try {
      const info = await this.request("read", () => this.jsm.streams.info(log.stream));
      return { first: info.state.first_seq, last: info.state.last_seq };
    } catch (error) {
      if (apiCode(error) === STREAM_NOT_FOUND) {
        return { first: 1, last: 0 };
      }
      throw error;
    }
  }

  private ensureStream(log: ChannelLog): Promise<void> {
    log.created ??= this.request("stream creation", async () => {
      // Every instance asks for the same configuration: adding an existing one is a no-op.
      await this.jsm.streams.add({
        name: log.stream,
        subjects: [log.subject],
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_msgs: Math.max(1, this.options.limits.maxCount),
        max_age: Math.max(1, Math.ceil(this.options.limits.maxAgeMs)) * 1_000_000,
        allow_direct: true,
        num_replicas: 1,
      });
    }).catch((error: unknown) => {
      log.created = null;
      throw error;
    });
    return log.created;
  }

  // --- connections ---------------------------------------------------------

  private async upstream(action: "subscribe" | "unsubscribe", subjects: string[]): Promise<void> {
    if (action === "unsubscribe") {
      for (const subject of subjects) {
        this.liveSubs.get(subject)?.unsubscribe();
        this.liveSubs.delete(subject);
      }
      return;
    }
    for (const subject of subjects) {
      if (this.liveSubs.has(subject)) continue;
      this.liveSubs.set(
        subject,
        this.nc.subscribe(subject, {
          callback: (_error, msg) => this.feeds.onLive(subject, msg.string()),
        }),
      );
    }
    // The server has every SUB once it answered the PING behind them.
    await this.request("subscribe", () => this.nc.flush());
  }

  /** One stderr line when the connection drops and one when it is back (then the feeds catch up). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closing) return;
      if (status.type === "disconnect" && !this.disconnected) {
        this.disconnected = true;
        this.log(`nats broker: connection to ${this.options.url} lost; reconnecting`);
      } else if (status.type === "reconnect") {
        this.disconnected = false;
        this.silentSinceMs = null;
        this.log(`nats broker: connection to ${this.options.url} is back`);
        this.feeds.resyncAll();
      }
    }
  }

  private async request<T>(operation: string, command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      this.silentSinceMs = null;
      return result;
    } catch (error) {
      if (apiCode(error) !== undefined) {
        throw error;
      }
      throw this.unavailable(operation, error);
    }
  }

  private unavailable(operation: string, error: unknown): BrokerUnavailableError {
    const text = errorText(error);
    if (/timeout/i.test(text)) this.silentSinceMs ??= Date.now();
    const effect = operation === "publish" ? "; the message may or may not have been stored" : "";
    return new BrokerUnavailableError(`NATS ${operation} failed: ${text}${effect}`, {
      cause: error,
    });
  }

  private channel(name: string): ChannelLog {
    let log = this.channels.get(name);
    if (!log) {
      const token = createHash("sha256").update(name).digest("hex").slice(0, 32);
      log = {
        stream: `${this.prefix}_${token}`,
        subject: `${this.prefix}.h.${token}`,
        live: `${this.prefix}.m.${token}`,
        signal: `${this.prefix}.s.${token}`,
        nameJson: JSON.stringify(name),
        created: null,
      };
      this.channels.set(name, log);
    }
    return log;
  }
}

/** The JetStream API error code of `error`, if it is one. */
function apiCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const api = (error as { api_error?: { err_code?: number } }).api_error;
  if (typeof api?.err_code === "number") return api.err_code;
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" && code >= 10000 ? code : undefined;
}

/** A stored entry (`{"channel":..,"ts":..,"body":..}`) as the message JSON with its id first. */
function withId(id: number, stored: string): string {
  return `{"id":${id},${stored.slice(1)}`;
}

/** The `ts` of a message JSON (its first `"ts":` is the field; see redis-scripts.ts). */
function tsOf(json: string): number {
  const match = /"ts":([^,]+),/.exec(json);
  return match ? Number(match[1]) : Number.POSITIVE_INFINITY;
}

/** Epoch milliseconds with the sub-millisecond fraction the message model asks for. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}
