import type { Gap } from "../../src/shared/protocol.js";
import type { HistoryLimits } from "./types.js";

/** A message as history keeps it: its JSON text, plus the two fields reads look at. */
export interface StoredMessage {
  readonly id: number;
  /** Server receive time, epoch ms (for the age limit). */
  readonly ts: number;
  /** JSON.stringify of the message, as fanned out. */
  readonly json: string;
}

export interface HistoryPage {
  messages: StoredMessage[];
  gap?: Gap;
}

/**
 * One channel's id counter and bounded history for the memory broker.
 *
 * Ids are assigned here and messages appended in id order, so a read is a
 * binary search, not a scan. Ids are expected to be contiguous (a publish is
 * validated and serialised before it takes an id), but nothing here relies on
 * it: a read finds its start by id, never by offset, and a hole it cannot
 * explain is reported as a gap like pruned history, never skipped silently.
 *
 * Messages are kept as JSON text, as Redis keeps them: answers and catch-up
 * send that text as it is, without serialising the message again.
 */
export class ChannelHistory {
  /** The last id assigned (0 before the first). */
  lastId = 0;
  /** Retained messages live in `messages[head..]`; the prefix is dropped lazily. */
  private messages: StoredMessage[] = [];
  private head = 0;

  nextId(): number {
    return ++this.lastId;
  }

  /** Appends a message whose id came from nextId(). */
  append(message: StoredMessage): void {
    this.messages.push(message);
  }

  /** Drops messages beyond the count and age limits. */
  prune(limits: HistoryLimits, nowMs: number): void {
    const retained = this.messages.length - this.head;
    if (retained > limits.maxCount) this.head += retained - limits.maxCount;
    const oldestAllowedMs = nowMs - limits.maxAgeMs;
    while (
      this.head < this.messages.length &&
      (this.messages[this.head] as StoredMessage).ts < oldestAllowedMs
    ) {
      this.head++;
    }
    // Compact once the dead prefix outweighs the live part, so shifting stays amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Messages with id > `since`, oldest first: at most `limit` of them and
   * about `maxBytes` of JSON (UTF-16 units; the first always fits). The page stops before a
   * hole, so that the next read, from the page's last id, reports the hole
   * as its gap. `gap` covers the ids after `since` that were assigned but are
   * not retained.
   */
  read(since: number, limit: number, maxBytes: number): HistoryPage {
    const start = this.indexAfter(since);
    const nextId = start < this.messages.length ? (this.messages[start] as StoredMessage).id : null;
    const firstMissing = since + 1;
    const missingTo = (nextId ?? this.lastId + 1) - 1;
    const gap =
      since < this.lastId && missingTo >= firstMissing
        ? { from: firstMissing, to: missingTo }
        : undefined;
    const messages: StoredMessage[] = [];
    let bytes = 0;
    let expectedId = nextId ?? 0;
    for (let i = start; i < this.messages.length && messages.length < limit; i++) {
      const message = this.messages[i] as StoredMessage;
      if (message.id !== expectedId) break;
      if (messages.length > 0 && bytes + message.json.length > maxBytes) break;
      messages.push(message);
      bytes += message.json.length;
      expectedId++;
    }
    return gap ? { messages, gap } : { messages };
  }

  /** Index of the first retained message with id > `since` (the length when none). */
  private indexAfter(since: number): number {
    let low = this.head;
    let high = this.messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.messages[middle] as StoredMessage).id <= since) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
