import type { Message } from "../../src/shared/protocol.js";
import { ChannelHistory } from "./memory-history.js";
import {
  type Broker,
  type BrokerHealth,
  type BrokerOptions,
  DEDUPE_WINDOW_MS,
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

/**
 * The single-instance broker: a counter per channel, a bounded history, and
 * listeners called synchronously in publish order.
 */
export function createMemoryBroker(
  limits: HistoryLimits,
  options: BrokerOptions = { unreadCounters: false },
): MemoryBroker {
  return new MemoryBroker(limits, options);
}

const HEALTHY: BrokerHealth = { state: "ok" };

class ChannelState {
  readonly history: ChannelHistory;
  readonly listeners = new Set<MessageListener>();
  /** user -> expiry, epoch ms. */
  readonly presence = new Map<string, number>();
  readonly signalListeners = new Set<SignalListener>();
  readonly members = new Set<string>();
  /** Online members -> their open connections. */
  readonly connections = new Map<string, number>();
  /** Offline members -> messages published while they were away. */
  readonly unread = new Map<string, number>();
  /** The members are forgotten after this (epoch ms) unless one is online; refreshed by every use. */
  membersExpireAtMs = 0;
  membersTtlMs = DEFAULT_MEMBER_LIMITS.ttlMs;

  constructor(
    /** The channel name as a JSON string, spliced into every message's JSON. */
    readonly nameJson: string,
    idBase: number,
  ) {
    this.history = new ChannelHistory(idBase);
  }

  /** Holds nothing but its id counter: no history, nobody listening, present, or a member. */
  get idle(): boolean {
    return (
      this.history.size === 0 &&
      this.listeners.size === 0 &&
      this.signalListeners.size === 0 &&
      this.presence.size === 0 &&
      this.members.size === 0
    );
  }
}

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
      for (const [user, expiresAtMs] of state.presence) {
        if (expiresAtMs <= wallMs) state.presence.delete(user);
      }
      if (state.members.size > 0 && state.connections.size === 0) {
        if (state.membersExpireAtMs <= wallMs) this.forgetMembers(state);
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
    if (this.options.unreadCounters) this.countUnread(state);
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
    const state = this.channels.get(channel);
    if (!state) return [];
    const nowMs = Date.now();
    const users: string[] = [];
    for (const [user, expiresAtMs] of state.presence) {
      if (expiresAtMs <= nowMs) state.presence.delete(user);
      else users.push(user);
    }
    return users.sort();
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
    const existing = this.channels.get(channel)?.members;
    let added = 0;
    const seen = new Set<string>();
    for (const user of users) {
      if (!existing?.has(user) && !seen.has(user)) added++;
      seen.add(user);
    }
    const size = existing?.size ?? 0;
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
    const state = this.channel(channel);
    for (const user of users) state.members.add(user);
    this.memberTotal += added;
    state.membersTtlMs = limits.ttlMs;
    state.membersExpireAtMs = Date.now() + limits.ttlMs;
    return state.members.size;
  }

  async memberOnline(channel: string, user: string): Promise<MemberReturn | null> {
    this.count("memberOnline");
    const state = this.channel(channel);
    if (!state.members.has(user)) return null;
    state.membersExpireAtMs = Date.now() + state.membersTtlMs;
    state.connections.set(user, (state.connections.get(user) ?? 0) + 1);
    const unread = state.unread.get(user) ?? 0;
    state.unread.delete(user);
    return { unread, lastId: state.history.lastId };
  }

  async memberOffline(channel: string, user: string, lastSentId: number): Promise<void> {
    this.count("memberOffline");
    const state = this.channel(channel);
    if (!state.members.has(user)) return;
    state.membersExpireAtMs = Date.now() + state.membersTtlMs;
    const left = (state.connections.get(user) ?? 0) - 1;
    if (left > 0) {
      state.connections.set(user, left);
      return;
    }
    state.connections.delete(user);
    const unsent = state.history.lastId - lastSentId;
    if (unsent > 0) state.unread.set(user, (state.unread.get(user) ?? 0) + unsent);
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

  /** A channel's member list expired: its members, their unread counters and connections go. */
  private forgetMembers(state: ChannelState): void {
    this.memberTotal -= state.members.size;
    state.members.clear();
    state.unread.clear();
    state.connections.clear();
  }

  /** Tiered fan-out: one more unread message for each member that is offline. */
  private countUnread(state: ChannelState): void {
    for (const member of state.members) {
      if (state.connections.has(member)) continue;
      state.unread.set(member, (state.unread.get(member) ?? 0) + 1);
      this.count("unreadIncrement");
    }
  }

  private count(kind: string): void {
    this.ops[kind] = (this.ops[kind] ?? 0) + 1;
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

/** Epoch milliseconds with the sub-millisecond fraction the message model asks for. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Keys remembered at most; past it the oldest go first (a retry comes within seconds). */
const MAX_DEDUPE_KEYS = 100_000;

/**
 * The memory broker's idempotency keys: channel and key -> the message stored,
 * for DEDUPE_WINDOW_MS, in insertion order so the oldest are dropped first.
 */
class DedupeWindow {
  private readonly entries = new Map<string, { message: Message; expiresAtMs: number }>();

  get(channel: string, key: string): Message | undefined {
    const entry = this.entries.get(`${channel}\n${key}`);
    return entry && entry.expiresAtMs > Date.now() ? entry.message : undefined;
  }

  set(channel: string, key: string, message: Message): void {
    const nowMs = Date.now();
    for (const [oldest, entry] of this.entries) {
      if (entry.expiresAtMs > nowMs && this.entries.size < MAX_DEDUPE_KEYS) break;
      this.entries.delete(oldest);
    }
    const name = `${channel}\n${key}`;
    // Re-set after expiry: to the end, where the newest are.
    this.entries.delete(name);
    this.entries.set(name, { message, expiresAtMs: nowMs + DEDUPE_WINDOW_MS });
  }
}
