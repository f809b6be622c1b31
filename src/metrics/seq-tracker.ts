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
  // Parallel arrays rather than objects: no allocation per message. Until
  // the first hole they are null and the one interval sits in `lo`..`hi`:
  // most subscribers never see a hole, and two arrays per subscriber are a
  // noticeable share of a shard's memory at tens of thousands of clients.
  private starts: number[] | null = null;
  private ends: number[] | null = null;
  private lo = 0;
  private hi = 0;
  private total = 0;

  /** Distinct sequence numbers received. */
  get size(): number {
    return this.total;
  }

  /** Number of intervals; 1 means everything so far arrived without a hole. */
  get intervalCount(): number {
    return this.starts === null ? (this.total > 0 ? 1 : 0) : this.starts.length;
  }

  add(seq: number): "new" | "duplicate" {
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new RangeError(`sequence numbers are positive integers, found ${seq}`);
    }
    if (this.starts === null) {
      if (this.total === 0) {
        this.lo = seq;
        this.hi = seq;
        this.total++;
        return "new";
      }
      if (seq === this.hi + 1) {
        this.hi = seq;
        this.total++;
        return "new";
      }
      if (seq >= this.lo && seq <= this.hi) return "duplicate";
      this.starts = [this.lo];
      this.ends = [this.hi];
    }
    const ends = this.ends as number[];
    const last = ends.length - 1;
    const lastEnd = ends[last] as number;
    if (seq === lastEnd + 1) {
      ends[last] = seq;
      this.total++;
      return "new";
    }
    if (seq > lastEnd + 1) {
      this.starts.push(seq);
      ends.push(seq);
      this.total++;
      return "new";
    }
    return this.insertSlow(seq);
  }

  has(seq: number): boolean {
    const i = this.lastStartAtOrBelow(seq);
    return i >= 0 && seq <= (this.endsView()[i] as number);
  }

  /** The intervals' starts and ends as arrays (the single-interval form spelled out). */
  private startsView(): number[] {
    return this.starts ?? (this.total > 0 ? [this.lo] : []);
  }

  private endsView(): number[] {
    return this.ends ?? (this.total > 0 ? [this.hi] : []);
  }

  /** How many of `sortedSeqs` (ascending) were received: one merge walk, O(n + intervals). */
  countIn(sortedSeqs: readonly number[]): number {
    let found = 0;
    let i = 0;
    const starts = this.startsView();
    const ends = this.endsView();
    const n = starts.length;
    for (const seq of sortedSeqs) {
      while (i < n && (ends[i] as number) < seq) i++;
      if (i === n) break;
      if (seq >= (starts[i] as number)) found++;
    }
    return found;
  }

  /** Compact form for IPC: the intervals as `[start, end]` pairs. */
  toJSON(): [number, number][] {
    const starts = this.startsView();
    const ends = this.endsView();
    const pairs = new Array<[number, number]>(starts.length);
    for (let i = 0; i < starts.length; i++) {
      pairs[i] = [starts[i] as number, ends[i] as number];
    }
    return pairs;
  }

  static fromJSON(pairs: unknown): SeqTracker {
    if (!Array.isArray(pairs)) {
      throw new TypeError("SeqTracker.fromJSON: expected an array of [start, end] pairs");
    }
    const tracker = new SeqTracker();
    const starts: number[] = [];
    const ends: number[] = [];
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
      starts.push(start);
      ends.push(end);
      tracker.total += end - start + 1;
      previousEnd = end;
    });
    if (starts.length > 0) {
      tracker.starts = starts;
      tracker.ends = ends;
    }
    return tracker;
  }

  /** Index of the last interval whose start is <= seq, or -1. */
  private lastStartAtOrBelow(seq: number): number {
    const starts = this.startsView();
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** A seq below the last interval's end: called once the arrays exist. */
  private insertSlow(seq: number): "new" | "duplicate" {
    const starts = this.starts as number[];
    const ends = this.ends as number[];
    const i = this.lastStartAtOrBelow(seq);
    if (i >= 0 && seq <= (ends[i] as number)) return "duplicate";
    this.total++;
    const joinsLeft = i >= 0 && (ends[i] as number) === seq - 1;
    const next = i + 1;
    const joinsRight = next < starts.length && (starts[next] as number) === seq + 1;
    if (joinsLeft && joinsRight) {
      ends[i] = ends[next] as number;
      starts.splice(next, 1);
      ends.splice(next, 1);
    } else if (joinsLeft) {
      ends[i] = seq;
    } else if (joinsRight) {
      starts[next] = seq;
    } else {
      starts.splice(next, 0, seq);
      ends.splice(next, 0, seq);
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
