// The single-instance broker: a counter per channel, a bounded history,
// and listeners called synchronously in publish order, all in this
// process's memory. This file is the broker's operations and what spans channels (forgotten
// channels' last ids, the member caps, the sweep, operation counts); one
// channel's state and member bookkeeping is memory-channel.ts, its history
// memory-history.ts, the idempotency keys memory-dedupe.ts.
import { type Message, nowEpochMs } from "../../src/shared/protocol.js";
import { ChannelState } from "./memory-channel.js";
import { DedupeWindow } from "./memory-dedupe.js";
import {
  type Broker,
  type BrokerHealth,
  type BrokerOptions,
  DEFAULT_MEMBER_LIMITS,
  type HistoryLimits,
  type HistoryRead,
  MemberCapError,
  type MemberLimits,
  type MemberReturn,
  type MessageListener,
  type SignalListener,
  type Unsubscribe,
} from "./types.js";

/** Default page size of `read()` when the caller gives none. */
const DEFAULT_READ_LIMIT = 1000;
/**
 * History is swept by age this often at most (half the age limit when that
 * is shorter), so memory comes back from channels nobody uses again.
 */
const MAX_SWEEP_INTERVAL_MS = 10_000;
const MIN_SWEEP_INTERVAL_MS = 100;

export function createMemoryBroker(
  limits: HistoryLimits,
  options: BrokerOptions = { unreadCounters: false },
): MemoryBroker {
  return new MemoryBroker(limits, options);
}

const HEALTHY: BrokerHealth = { state: "ok" };

export class MemoryBroker implements Broker {
  readonly kind = "memory";
  private readonly channels = new Map<string, ChannelState>();
  /**
   * The last id of each channel that was forgotten (idle after a sweep): a
   * number per name instead of its state, so ids stay increasing when it is
   * used again.
   */
  private readonly forgottenLastIds = new Map<string, number>();
  private closed = false;
  /** Operations by kind, as `INFO commandstats` counts Redis commands. */
  private readonly ops: Record<string, number> = {};
  private readonly sweepTimer: NodeJS.Timeout;
  /** Members of every channel, against MemberLimits.maxTotal. */
  private memberTotal = 0;
  /** Publishes' idempotency keys seen within the window, and what each stored. */
  private readonly dedupe = new DedupeWindow();

  constructor(
    private readonly limits: HistoryLimits,
    private readonly options: BrokerOptions,
  ) {
    const intervalMs = Math.min(
      MAX_SWEEP_INTERVAL_MS,
      Math.max(MIN_SWEEP_INTERVAL_MS, limits.maxAgeMs / 2),
    );
    this.sweepTimer = setInterval(() => this.sweep(), intervalMs);
    // The sweep alone must not keep a process alive.
    this.sweepTimer.unref();
  }

  /** Channels with state (history, listeners, presence or members); forgotten ones are not counted. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Messages held in every channel's history. */
  get retainedMessages(): number {
    let count = 0;
    for (const state of this.channels.values()) count += state.history.size;
    return count;
  }

  /**
   * Prunes every channel's history by age, not only when a channel is next
   * used, and forgets the channels left idle: a burst of big messages on
   * many channels is given back once it is older than the history age.
   */
  sweep(): void {
    const nowMs = nowEpochMs();
    const wallMs = Date.now();
    let releasedChars = 0;
    for (const [name, state] of this.channels) {
      const before = state.history.retainedChars;
      state.history.prune(this.limits, nowMs);
      releasedChars += before - state.history.retainedChars;
      state.expirePresence(wallMs);
      if (state.members.size > 0 && state.connections.size === 0) {
        if (state.membersExpireAtMs <= wallMs) this.memberTotal -= state.forgetMembers();
      }
      if (!state.idle) continue;
      this.channels.delete(name);
      this.forgottenLastIds.set(name, state.history.lastId);
    }
    if (releasedChars > 0) this.options.onReleased?.(releasedChars);
  }

  async publish(channel: string, body: unknown, dedupeKey?: string): Promise<Message> {
    if (this.closed) throw new Error("memory broker: publish after close");
    const seen = dedupeKey === undefined ? undefined : this.dedupe.get(channel, dedupeKey);
    if (seen) return seen;
    // Serialise before taking an id: a body that cannot be serialised fails
    // here and leaves no hole in the channel's ids.
    const bodyJson = JSON.stringify(body) ?? "null";
    const state = this.channel(channel);
    const ts = nowEpochMs();
    const id = state.history.nextId();
    const message: Message = { id, channel, ts, body: body === undefined ? null : body };
    // Equal to JSON.stringify(message), without serialising the body twice.
    const json = `{"id":${id},"channel":${state.nameJson},"ts":${JSON.stringify(ts)},"body":${bodyJson}}`;
    state.history.append(message, json);
    state.history.prune(this.limits, ts);
    if (dedupeKey !== undefined) this.dedupe.set(channel, dedupeKey, message);
    this.count("publish");
    if (this.options.unreadCounters) {
      const increments = state.countUnread();
      if (increments > 0) this.count("unreadIncrement", increments);
    }
    for (const listener of state.listeners) {
      try {
        listener(message, json);
      } catch (error) {
        // A broken listener must not stop fan-out to the others, nor fail the publish.
        process.emitWarning(`memory broker: listener on ${channel} threw: ${String(error)}`);
      }
    }
    return message;
  }

  async read(
    channel: string,
    since: number,
    limit = DEFAULT_READ_LIMIT,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<HistoryRead> {
    this.count("read");
    const state = this.channels.get(channel);
    if (!state) {
      // A forgotten channel had history once: what came after `since` was pruned.
      const lastId = this.forgottenLastIds.get(channel);
      if (lastId === undefined)
        return { messages: [], jsons: [], lastId: this.options.idBase ?? 0 };
      const gap = since < lastId ? { from: since + 1, to: lastId } : undefined;
      return gap ? { messages: [], jsons: [], gap, lastId } : { messages: [], jsons: [], lastId };
    }
    state.history.prune(this.limits, nowEpochMs());
    const { messages, jsons, gap } = state.history.read(since, Math.max(0, limit), maxBytes);
    const lastId = state.history.lastId;
    return gap ? { messages, jsons, gap, lastId } : { messages, jsons, lastId };
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.count("subscribe");
    const state = this.channel(channel);
    state.listeners.add(listener);
    return () => {
      state.listeners.delete(listener);
    };
  }

  async touchPresence(channel: string, user: string, ttlMs: number): Promise<void> {
    this.count("touchPresence");
    this.channel(channel).presence.set(user, Date.now() + ttlMs);
  }

  async presence(channel: string): Promise<string[]> {
    this.count("presence");
    return this.channels.get(channel)?.present(Date.now()) ?? [];
  }

  /** Nothing stands behind it that could go away. */
  health(): BrokerHealth {
    return HEALTHY;
  }

  /** How many members every channel holds together. */
  get memberCount(): number {
    return this.memberTotal;
  }

  async addMembers(
    channel: string,
    users: readonly string[],
    limits: MemberLimits = DEFAULT_MEMBER_LIMITS,
  ): Promise<number> {
    this.count("addMembers");
    const existing = this.channels.get(channel);
    const added = existing ? existing.newMembers(users) : new Set(users).size;
    const size = existing?.members.size ?? 0;
    if (size + added > limits.maxPerChannel) {
      throw new MemberCapError(
        `${channel} would have ${size + added} members, more than the ${limits.maxPerChannel} a channel may have`,
      );
    }
    if (this.memberTotal + added > limits.maxTotal) {
      throw new MemberCapError(
        `the server would hold ${this.memberTotal + added} members, more than the ${limits.maxTotal} it keeps over all channels`,
      );
    }
    this.memberTotal += added;
    return this.channel(channel).join(users, limits.ttlMs);
  }

  async memberOnline(channel: string, user: string): Promise<MemberReturn | null> {
    this.count("memberOnline");
    return this.channel(channel).memberOnline(user);
  }

  async memberOffline(channel: string, user: string, lastSentId: number): Promise<void> {
    this.count("memberOffline");
    this.channel(channel).memberOffline(user, lastSentId);
  }

  async unread(channel: string, user: string): Promise<number | null> {
    this.count("unread");
    const state = this.channels.get(channel);
    if (!state?.members.has(user)) return null;
    return state.unread.get(user) ?? 0;
  }

  async publishSignal(channel: string, json: string): Promise<void> {
    this.count("signal");
    for (const listener of this.channel(channel).signalListeners) {
      try {
        listener(json);
      } catch (error) {
        process.emitWarning(`memory broker: signal listener on ${channel} threw: ${String(error)}`);
      }
    }
  }

  async subscribeSignals(channel: string, listener: SignalListener): Promise<Unsubscribe> {
    const state = this.channel(channel);
    state.signalListeners.add(listener);
    return () => {
      state.signalListeners.delete(listener);
    };
  }

  operationCounts(): Record<string, number> {
    return { ...this.ops };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const state of this.channels.values()) {
      state.listeners.clear();
      state.signalListeners.clear();
    }
  }

  private count(kind: string, times = 1): void {
    this.ops[kind] = (this.ops[kind] ?? 0) + times;
  }

  private channel(name: string): ChannelState {
    let state = this.channels.get(name);
    if (!state) {
      state = new ChannelState(JSON.stringify(name), this.idBase(name));
      this.forgottenLastIds.delete(name);
      this.channels.set(name, state);
    }
    return state;
  }

  /** Where a channel without state numbers from: its last id when it was forgotten. */
  private idBase(name: string): number {
    return this.forgottenLastIds.get(name) ?? this.options.idBase ?? 0;
  }
}
