import type { Gap, Message } from "../../src/shared/protocol.js";
import type { HistoryLimits } from "./types.js";

export interface HistoryPage {
  messages: Message[];
  /** `messages` as JSON text, index by index. */
  jsons: string[];
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
 * Each message is kept with its JSON text (twice the memory of either), so
 * answers and catch-up send that text as it is: a read neither parses nor
 * serialises.
 */
export class ChannelHistory {
  /** The last id assigned (the id base, 0 unless given, before the first). */
  lastId: number;
  /**
   * Retained messages live in `messages[head..]` (and `jsons[head..]`). A
   * pruned slot is emptied at once, so its message can be collected; the
   * array itself is shortened lazily.
   */
  private messages: (Message | undefined)[] = [];
  private jsons: (string | undefined)[] = [];
  private head = 0;
  /** JSON characters of the retained messages: about half the memory they hold. */
  retainedChars = 0;

  constructor(idBase = 0) {
    this.lastId = idBase;
  }

  nextId(): number {
    return ++this.lastId;
  }

  /** Appends a message whose id came from nextId(), with its JSON.stringify text. */
  append(message: Message, json: string): void {
    this.messages.push(message);
    this.jsons.push(json);
    this.retainedChars += json.length;
  }

  /** How many messages are retained. */
  get size(): number {
    return this.messages.length - this.head;
  }

  /** Drops messages beyond the count and age limits. */
  prune(limits: HistoryLimits, nowMs: number): void {
    const retained = this.messages.length - this.head;
    if (retained > limits.maxCount) this.drop(this.head + retained - limits.maxCount);
    const oldestAllowedMs = nowMs - limits.maxAgeMs;
    let stop = this.head;
    while (stop < this.messages.length && (this.messages[stop] as Message).ts < oldestAllowedMs) {
      stop++;
    }
    this.drop(stop);
    if (this.head === this.messages.length) {
      // Nothing retained: give the arrays back too.
      this.messages = [];
      this.jsons = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      // Compact once the dead prefix outweighs the live part, so shifting stays amortised O(1).
      this.messages = this.messages.slice(this.head);
      this.jsons = this.jsons.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Messages with id > `since`, oldest first: at most `limit` of them and
   * about `maxBytes` of JSON (UTF-16 units; the first always fits). The page
   * stops before a hole, so that the next read, from the page's last id,
   * reports the hole as its gap. `gap` covers the ids after `since` that were
   * assigned but are not retained.
   */
  read(since: number, limit: number, maxBytes: number): HistoryPage {
    const start = this.indexAfter(since);
    const end = this.messages.length;
    const nextId = start < end ? (this.messages[start] as Message).id : this.lastId + 1;
    const gap =
      since < this.lastId && nextId > since + 1 ? { from: since + 1, to: nextId - 1 } : undefined;
    let stop = start;
    let bytes = 0;
    while (stop < end && stop - start < limit) {
      if ((this.messages[stop] as Message).id !== nextId + (stop - start)) break;
      const size = (this.jsons[stop] as string).length;
      if (stop > start && bytes + size > maxBytes) break;
      bytes += size;
      stop++;
    }
    // Slots from `start` on are retained, never emptied.
    const messages = this.messages.slice(start, stop) as Message[];
    const jsons = this.jsons.slice(start, stop) as string[];
    return gap ? { messages, jsons, gap } : { messages, jsons };
  }

  /** Drops the retained messages before index `stop`. */
  private drop(stop: number): void {
    for (let i = this.head; i < stop; i++) {
      this.retainedChars -= (this.jsons[i] as string).length;
      this.messages[i] = undefined;
      this.jsons[i] = undefined;
    }
    this.head = Math.max(this.head, stop);
  }

  /** Index of the first retained message with id > `since` (the length when none). */
  private indexAfter(since: number): number {
    let low = this.head;
    let high = this.messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.messages[middle] as Message).id <= since) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
