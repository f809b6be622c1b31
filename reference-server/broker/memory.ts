import type { Message } from "../../src/shared/protocol.js";
import { ChannelHistory } from "./memory-history.js";
import type {
  Broker,
  BrokerHealth,
  HistoryLimits,
  HistoryRead,
  MessageListener,
  Unsubscribe,
} from "./types.js";

/** Default page size of `read()` when the caller gives none. */
const DEFAULT_READ_LIMIT = 1000;

/**
 * The single-instance broker: a counter per channel, a bounded history, and
 * listeners called synchronously in publish order.
 */
export function createMemoryBroker(limits: HistoryLimits): Broker {
  return new MemoryBroker(limits);
}

const HEALTHY: BrokerHealth = { state: "ok" };

class ChannelState {
  readonly history = new ChannelHistory();
  readonly listeners = new Set<MessageListener>();
  /** user -> expiry, epoch ms. */
  readonly presence = new Map<string, number>();

  /** The channel name as a JSON string, spliced into every message's JSON. */
  constructor(readonly nameJson: string) {}
}

class MemoryBroker implements Broker {
  readonly kind = "memory";
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  constructor(private readonly limits: HistoryLimits) {}

  async publish(channel: string, body: unknown): Promise<Message> {
    if (this.closed) throw new Error("memory broker: publish after close");
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
    const state = this.channels.get(channel);
    if (!state) return { messages: [], jsons: [], lastId: 0 };
    state.history.prune(this.limits, nowEpochMs());
    const { messages, jsons, gap } = state.history.read(since, Math.max(0, limit), maxBytes);
    const lastId = state.history.lastId;
    return gap ? { messages, jsons, gap, lastId } : { messages, jsons, lastId };
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    const state = this.channel(channel);
    state.listeners.add(listener);
    return () => {
      state.listeners.delete(listener);
    };
  }

  async touchPresence(channel: string, user: string, ttlMs: number): Promise<void> {
    this.channel(channel).presence.set(user, Date.now() + ttlMs);
  }

  async presence(channel: string): Promise<string[]> {
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

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.channels.values()) state.listeners.clear();
  }

  private channel(name: string): ChannelState {
    let state = this.channels.get(name);
    if (!state) {
      state = new ChannelState(JSON.stringify(name));
      this.channels.set(name, state);
    }
    return state;
  }
}

/** Epoch milliseconds with the sub-millisecond fraction the message model asks for. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}
