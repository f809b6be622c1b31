/**
 * In which second each message was first received, per channel and
 * sequence number, summed over the subscribers of one shard.
 *
 * Why it exists: a shard counts deliveries per second as they arrive, but
 * only the parent knows, at the end, which messages the result counts: when
 * an interrupt cuts the measured window short, messages scheduled after its
 * new end are left out of `delivered`, so the per-second counts must leave
 * them out too. The parent names those messages and the ledger says in
 * which seconds they were counted.
 *
 * Memory is per message, not per subscriber: typed arrays indexed by
 * sequence number. Most messages reach every subscriber of a shard within
 * one second or two adjacent ones, so two counters per message cover them;
 * the rest (late resumes after an outage) go to a map.
 */
interface ChannelLedger {
  /** Second of the first receipt counted for this sequence number. */
  bucket: Int32Array;
  /** Receipts counted in `bucket`, and in the second after it. */
  inBucket: Uint32Array;
  inNext: Uint32Array;
  /** Any other second, by sequence number: `[bucket, count, bucket, count, ...]`. */
  other: Map<number, number[]>;
}

const INITIAL_LENGTH = 256;

function emptyChannel(length: number): ChannelLedger {
  return {
    bucket: new Int32Array(length),
    inBucket: new Uint32Array(length),
    inNext: new Uint32Array(length),
    other: new Map(),
  };
}

export class ReceiptLedger {
  private readonly channels: ChannelLedger[] = [];
  private readonly slots = new Map<string, number>();

  /** The ledger slot of a channel: subscribers keep it so the hot path never looks a name up. */
  slotOf(channel: string): number {
    let slot = this.slots.get(channel);
    if (slot === undefined) {
      slot = this.channels.length;
      this.slots.set(channel, slot);
      this.channels.push(emptyChannel(INITIAL_LENGTH));
    }
    return slot;
  }

  /** One first receipt of `seq` in second `bucket`. Hot path: no allocation in the common case. */
  add(slot: number, seq: number, bucket: number): void {
    let c = this.channels[slot] as ChannelLedger;
    if (seq >= c.bucket.length) c = this.grow(slot, seq);
    if (c.inBucket[seq] === 0) {
      c.bucket[seq] = bucket;
      c.inBucket[seq] = 1;
      return;
    }
    const first = c.bucket[seq] as number;
    if (bucket === first) (c.inBucket[seq] as number)++;
    else if (bucket === first + 1) (c.inNext[seq] as number)++;
    else addOther(c.other, seq, bucket);
  }

  /** The seconds in which `seq` of `channel` was counted, with how many receipts each. */
  receipts(channel: string, seq: number): [bucket: number, count: number][] {
    const slot = this.slots.get(channel);
    if (slot === undefined) return [];
    const c = this.channels[slot] as ChannelLedger;
    if (seq >= c.bucket.length || c.inBucket[seq] === 0) return [];
    const first = c.bucket[seq] as number;
    const found: [number, number][] = [[first, c.inBucket[seq] as number]];
    if ((c.inNext[seq] as number) > 0) found.push([first + 1, c.inNext[seq] as number]);
    const other = c.other.get(seq) ?? [];
    for (let i = 0; i < other.length; i += 2) {
      found.push([other[i] as number, other[i + 1] as number]);
    }
    return found;
  }

  private grow(slot: number, seq: number): ChannelLedger {
    const old = this.channels[slot] as ChannelLedger;
    const grown = emptyChannel(Math.max(seq + 1, old.bucket.length * 2));
    grown.bucket.set(old.bucket);
    grown.inBucket.set(old.inBucket);
    grown.inNext.set(old.inNext);
    grown.other = old.other;
    this.channels[slot] = grown;
    return grown;
  }
}

function addOther(other: Map<number, number[]>, seq: number, bucket: number): void {
  let pairs = other.get(seq);
  if (pairs === undefined) {
    pairs = [];
    other.set(seq, pairs);
  }
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === bucket) {
      (pairs[i + 1] as number)++;
      return;
    }
  }
  pairs.push(bucket, 1);
}
