/**
 * Which per-channel sequence numbers (positive integers from the publisher's
 * body) one subscriber received, as sorted, disjoint, non-adjacent closed
 * intervals. In-order delivery keeps a single interval, so the common case is
 * an O(1) append; out-of-order arrivals cost a binary search and a splice.
 *
 * Memory is O(number of holes), not O(messages): a subscriber that got
 * everything costs two numbers whatever the run length.
 */
export class SeqTracker {
  // Parallel arrays rather than objects: no allocation per message.
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private total = 0;

  /** Distinct sequence numbers received. */
  get size(): number {
    return this.total;
  }

  /** Number of intervals; 1 means everything so far arrived without a hole. */
  get intervalCount(): number {
    return this.starts.length;
  }

  add(seq: number): "new" | "duplicate" {
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new RangeError(`sequence numbers are positive integers, found ${seq}`);
    }
    const last = this.ends.length - 1;
    if (last < 0) {
      this.starts.push(seq);
      this.ends.push(seq);
      this.total++;
      return "new";
    }
    const lastEnd = this.ends[last] as number;
    if (seq === lastEnd + 1) {
      this.ends[last] = seq;
      this.total++;
      return "new";
    }
    if (seq > lastEnd + 1) {
      this.starts.push(seq);
      this.ends.push(seq);
      this.total++;
      return "new";
    }
    return this.insertSlow(seq);
  }

  has(seq: number): boolean {
    const i = this.lastStartAtOrBelow(seq);
    return i >= 0 && seq <= (this.ends[i] as number);
  }

  /** How many of `sortedSeqs` (ascending) were received: one merge walk, O(n + intervals). */
  countIn(sortedSeqs: readonly number[]): number {
    let found = 0;
    let i = 0;
    const n = this.starts.length;
    for (const seq of sortedSeqs) {
      while (i < n && (this.ends[i] as number) < seq) i++;
      if (i === n) break;
      if (seq >= (this.starts[i] as number)) found++;
    }
    return found;
  }

  /** Compact form for IPC: the intervals as `[start, end]` pairs. */
  toJSON(): [number, number][] {
    const pairs = new Array<[number, number]>(this.starts.length);
    for (let i = 0; i < this.starts.length; i++) {
      pairs[i] = [this.starts[i] as number, this.ends[i] as number];
    }
    return pairs;
  }

  static fromJSON(pairs: unknown): SeqTracker {
    if (!Array.isArray(pairs)) {
      throw new TypeError("SeqTracker.fromJSON: expected an array of [start, end] pairs");
    }
    const tracker = new SeqTracker();
    let previousEnd = -1;
    pairs.forEach((pair: unknown, i) => {
      const [start, end] = Array.isArray(pair) && pair.length === 2 ? pair : [];
      if (
        !Number.isSafeInteger(start) ||
        !Number.isSafeInteger(end) ||
        start < 1 ||
        start > end ||
        start <= previousEnd + 1
      ) {
        throw new TypeError(
          `SeqTracker.fromJSON: pair ${i} is not a sorted, disjoint interval of positive integers, found ${JSON.stringify(pair)}`,
        );
      }
      tracker.starts.push(start);
      tracker.ends.push(end);
      tracker.total += end - start + 1;
      previousEnd = end;
    });
    return tracker;
  }

  /** Index of the last interval whose start is <= seq, or -1. */
  private lastStartAtOrBelow(seq: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) <= seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private insertSlow(seq: number): "new" | "duplicate" {
    const i = this.lastStartAtOrBelow(seq);
    if (i >= 0 && seq <= (this.ends[i] as number)) return "duplicate";
    this.total++;
    const joinsLeft = i >= 0 && (this.ends[i] as number) === seq - 1;
    const next = i + 1;
    const joinsRight = next < this.starts.length && (this.starts[next] as number) === seq + 1;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[next] as number;
      this.starts.splice(next, 1);
      this.ends.splice(next, 1);
    } else if (joinsLeft) {
      this.ends[i] = seq;
    } else if (joinsRight) {
      this.starts[next] = seq;
    } else {
      this.starts.splice(next, 0, seq);
      this.ends.splice(next, 0, seq);
    }
    return "new";
  }
}

/**
 * Counts reordering: a message received after one with a higher position
 * (see `orderPosition`). Feed it only first receipts (SeqTracker said
 * "new"), so a late duplicate of an old message counts as a duplicate, not
 * also as reordered.
 */
export class ReorderCounter {
  private highest = Number.NEGATIVE_INFINITY;
  reordered = 0;

  /** Records a first receipt; true when a message with a higher position came before it. */
  add(position: number): boolean {
    if (position < this.highest) {
      this.reordered++;
      return true;
    }
    this.highest = position;
    return false;
  }
}

/**
 * Where a message stands in its channel's order: the server's id when it is
 * a number (the reference server's are), else the publisher's per-channel
 * sequence number, for servers whose ids are opaque strings.
 */
export function orderPosition(id: string, seq: number): number {
  const order = Number(id);
  return Number.isFinite(order) ? order : seq;
}
