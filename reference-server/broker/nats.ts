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
//
// This file is the connection, publishing and the live feeds; beside it are
// the streams and history reads (nats-history.ts), the requests' failures
// and health (nats-guard.ts) and the signals (nats-signals.ts).
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { errorText, RtbenchError } from "../../src/shared/errors.js";
import { type Message, nowEpochMs } from "../../src/shared/protocol.js";
import { createMemoryBroker } from "./memory.js";
import { NatsGuard } from "./nats-guard.js";
import { type ChannelLog, NatsHistory, withId } from "./nats-history.js";
import { NatsSignals } from "./nats-signals.js";
import { RedisFeeds } from "./redis-feed.js";
import type {
  Broker,
  BrokerHealth,
  GapListener,
  HistoryRead,
  MemberLimits,
  MemberReturn,
  MessageListener,
  ServiceBrokerOptions,
  SignalListener,
  Unsubscribe,
} from "./types.js";

/** `url` is `nats://host:port`; `keyPrefix` is made subject-safe. */
export type NatsBrokerOptions = ServiceBrokerOptions;

const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Default page size of `read()` when the caller gives none (as the memory broker). */
const DEFAULT_READ_LIMIT = 1000;

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

class NatsBroker implements Broker {
  readonly kind = "nats";
  private readonly idBase: number;
  private readonly history: NatsHistory;
  private readonly guard = new NatsGuard();
  private readonly feeds: RedisFeeds;
  /** Core subscriptions of the feeds, by live subject. */
  private readonly liveSubs = new Map<string, Subscription>();
  private readonly signals: NatsSignals;
  /** Presence and members, per instance (see the top of this file). */
  private readonly local: Broker;
  private readonly log: (line: string) => void;
  private closing = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    jsm: JetStreamManager,
    private readonly options: NatsBrokerOptions,
    private readonly timeoutMs: number,
  ) {
    this.log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const prefix = (options.keyPrefix ?? "rtbench:").replace(/[^A-Za-z0-9_-]/g, "_");
    this.idBase = options.idBase ?? 0;
    this.history = new NatsHistory(jsm, this.guard, prefix, this.idBase, options.limits);
    this.signals = new NatsSignals(nc);
    this.local = createMemoryBroker(options.limits, {
      unreadCounters: options.unreadCounters ?? false,
      idBase: this.idBase,
    });
    this.feeds = new RedisFeeds({
      name: "nats broker",
      upstream: (action, subjects) => this.upstream(action, subjects),
      idBase: this.idBase,
      readPage: (channel, since, limit, maxBytes) =>
        this.history.readRaw(channel, since, limit, maxBytes),
      lastId: (channel) => this.history.lastId(channel),
      pubsubChannel: (channel) => this.history.channel(channel).live,
      noteId: () => {},
      closing: () => this.closing,
      log: this.log,
    });
    void this.watchStatus();
  }

  async publish(channel: string, body: unknown, dedupeKey?: string): Promise<Message> {
    // Serialised before anything is sent: a body that cannot be serialised costs no id.
    const bodyJson = JSON.stringify(body) ?? "null";
    return this.append(this.history.channel(channel), bodyJson, body, dedupeKey);
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
    await this.history.ensureStream(log);
    const ts = nowEpochMs();
    const stored = `{"channel":${log.nameJson},"ts":${JSON.stringify(ts)},"body":${bodyJson}}`;
    this.guard.ensureConnected("publish");
    try {
      const ack = await this.guard.whileConnected(
        this.js.publish(log.subject, stored, {
          timeout: this.timeoutMs,
          ...(dedupeKey === undefined ? {} : { msgID: dedupeKey }),
        }),
      );
      this.guard.answered();
      if (ack.duplicate) return await this.history.storedCopy(log, ack.seq, stored);
      const id = this.idBase + ack.seq;
      // Fire-and-forget fan-out; what it loses the feeds read back from the stream.
      this.nc.publish(log.live, withId(id, stored));
      return { id, channel: JSON.parse(log.nameJson) as string, ts, body: body ?? null };
    } catch (error) {
      throw this.guard.unavailable("publish", error);
    }
  }

  async read(
    channel: string,
    since: number,
    limit = DEFAULT_READ_LIMIT,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<HistoryRead> {
    const { jsons, gap, lastId } = await this.history.readRaw(channel, since, limit, maxBytes);
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
    if (this.guard.down) {
      return {
        state: "unavailable",
        reason: `the connection to NATS at ${this.options.url} is down (reconnecting)`,
      };
    }
    const silentSinceMs = this.guard.silentSinceMs;
    if (silentSinceMs !== null) {
      return {
        state: "unavailable",
        reason: `NATS at ${this.options.url} has not answered within ${this.timeoutMs} ms since ${new Date(silentSinceMs).toISOString()}`,
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
    this.signals.publish(this.history.channel(channel).signal, json);
  }

  subscribeSignals(channel: string, listener: SignalListener): Promise<Unsubscribe> {
    return this.signals.subscribe(this.history.channel(channel).signal, listener);
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
    await this.guard.request("subscribe", () => this.nc.flush());
  }

  /** One stderr line when the connection drops and one when it is back (then the feeds catch up). */
  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closing) return;
      if (status.type === "disconnect" && !this.guard.down) {
        this.guard.dropConnection();
        this.log(`nats broker: connection to ${this.options.url} lost; reconnecting`);
      } else if (status.type === "reconnect") {
        this.guard.up();
        this.guard.answered();
        this.log(`nats broker: connection to ${this.options.url} is back`);
        this.feeds.resyncAll();
      }
    }
  }
}
