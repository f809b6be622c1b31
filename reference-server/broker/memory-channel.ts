// One channel of the memory broker: its history and id counter, the live
// and signal listeners of this process, who is present, and its members
// with their connections and unread counters. The member bookkeeping lives
// here because it is per channel (tiered fan-out counts unread messages in
// the publish that takes the id); the caps over every channel stay with the
// broker (memory.ts).
import { ChannelHistory } from "./memory-history.js";
import {
  DEFAULT_MEMBER_LIMITS,
  type MemberReturn,
  type MessageListener,
  type SignalListener,
} from "./types.js";

export class ChannelState {
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

  /** Drops who is no longer present at `nowMs` (epoch). */
  expirePresence(nowMs: number): void {
    for (const [user, expiresAtMs] of this.presence) {
      if (expiresAtMs <= nowMs) this.presence.delete(user);
    }
  }

  /** Who is present at `nowMs` (epoch), sorted. */
  present(nowMs: number): string[] {
    this.expirePresence(nowMs);
    return [...this.presence.keys()].sort();
  }

  /** Adds `users` to the members, kept for `ttlMs` from now; how many members there are. */
  join(users: readonly string[], ttlMs: number): number {
    for (const user of users) this.members.add(user);
    this.membersTtlMs = ttlMs;
    this.membersExpireAtMs = Date.now() + ttlMs;
    return this.members.size;
  }

  /** How many of `users` are not members yet (each counted once). */
  newMembers(users: readonly string[]): number {
    let added = 0;
    const seen = new Set<string>();
    for (const user of users) {
      if (!this.members.has(user) && !seen.has(user)) added++;
      seen.add(user);
    }
    return added;
  }

  /** A member's connection opened (Broker.memberOnline); null for a user who is not a member. */
  memberOnline(user: string): MemberReturn | null {
    if (!this.members.has(user)) return null;
    this.membersExpireAtMs = Date.now() + this.membersTtlMs;
    this.connections.set(user, (this.connections.get(user) ?? 0) + 1);
    const unread = this.unread.get(user) ?? 0;
    this.unread.delete(user);
    return { unread, lastId: this.history.lastId };
  }

  /** A member's connection closed after it was sent up to `lastSentId` (Broker.memberOffline). */
  memberOffline(user: string, lastSentId: number): void {
    if (!this.members.has(user)) return;
    this.membersExpireAtMs = Date.now() + this.membersTtlMs;
    const left = (this.connections.get(user) ?? 0) - 1;
    if (left > 0) {
      this.connections.set(user, left);
      return;
    }
    this.connections.delete(user);
    const unsent = this.history.lastId - lastSentId;
    if (unsent > 0) this.unread.set(user, (this.unread.get(user) ?? 0) + unsent);
  }

  /** Tiered fan-out: one more unread message for each member that is offline; how many there were. */
  countUnread(): number {
    let increments = 0;
    for (const member of this.members) {
      if (this.connections.has(member)) continue;
      this.unread.set(member, (this.unread.get(member) ?? 0) + 1);
      increments++;
    }
    return increments;
  }

  /** The member list expired: its members, their unread counters and connections go; how many members went. */
  forgetMembers(): number {
    const forgotten = this.members.size;
    this.members.clear();
    this.unread.clear();
    this.connections.clear();
    return forgotten;
  }
}
