import type { NetworkProfile } from "./network-profile.js";

/**
 * The shaping of one direction of a shaped connection (shaped-socket.ts):
 * bytes cut into segments, each given its delivery time (the bandwidth cap's
 * pacing, then latency, jitter and loss), never overtaking the one before,
 * and held while the network is down. The socket decides when to hand them
 * over; a lane only knows when each is due.
 */

/** Segment size when bytes are paced or can be lost: an Ethernet MSS. */
const SEGMENT_BYTES = 1460;
/** What the paced direction may hold beyond one bandwidth-delay product before reading stops. */
const QUEUE_FLOOR_BYTES = 16 * 1024;

/** The end of the stream, queued after the last segment. */
export const END = Symbol("end");

/** What a lane needs of its client's network (a ClientNetwork, shaped-socket.ts). */
export interface LaneNetwork {
  readonly profile: NetworkProfile;
  /** One segment's one-way delay. */
  delayMs(): number;
}

/**
 * One direction of a connection: segments waiting for their delivery time,
 * in order. Flat arrays and a head index rather than an object per segment.
 */
export class Lane {
  /** Segments, or END for the end of the stream. */
  readonly chunks: (Buffer | typeof END)[] = [];
  readonly dueMs: number[] = [];
  head = 0;
  queuedBytes = 0;
  /** When the last segment finished crossing the bandwidth cap. */
  private departMs = 0;
  /** When the last segment is delivered: later segments never overtake it. */
  private lastDueMs = 0;
  timer: NodeJS.Timeout | null = null;
  /** Beyond this many bytes waiting, the lane's source stops (Infinity: never). */
  readonly limitBytes: number;

  constructor(
    private readonly network: LaneNetwork,
    private readonly bytesPerSec: number,
  ) {
    const { latencyMs, jitterMs } = network.profile;
    this.limitBytes =
      bytesPerSec > 0
        ? QUEUE_FLOOR_BYTES + (bytesPerSec * 2 * (latencyMs + jitterMs)) / 1000
        : Number.POSITIVE_INFINITY;
  }

  get empty(): boolean {
    return this.head === this.chunks.length;
  }

  /** Queues `chunk`, cut into segments where pacing or loss works per segment. */
  add(chunk: Buffer, nowMs: number): void {
    const { loss } = this.network.profile;
    if (this.bytesPerSec === 0 && loss === 0) {
      this.push(chunk, nowMs);
      return;
    }
    for (let at = 0; at < chunk.length; at += SEGMENT_BYTES) {
      this.push(
        at === 0 && chunk.length <= SEGMENT_BYTES ? chunk : chunk.subarray(at, at + SEGMENT_BYTES),
        nowMs,
      );
    }
  }

  /** The end of the stream, after everything queued. */
  end(nowMs: number): void {
    this.chunks.push(END);
    this.dueMs.push(Math.max(nowMs, this.lastDueMs));
  }

  private push(segment: Buffer, nowMs: number): void {
    let sentMs = nowMs;
    if (this.bytesPerSec > 0) {
      this.departMs = Math.max(nowMs, this.departMs) + (segment.length * 1000) / this.bytesPerSec;
      sentMs = this.departMs;
    }
    const due = Math.max(sentMs + this.network.delayMs(), this.lastDueMs);
    this.lastDueMs = due;
    this.chunks.push(segment);
    this.dueMs.push(due);
    this.queuedBytes += segment.length;
  }

  /** The next segment, once due (the caller checked `dueMs[head]`). */
  take(): Buffer | typeof END {
    const chunk = this.chunks[this.head] as Buffer | typeof END;
    this.chunks[this.head] = END;
    this.head++;
    if (chunk !== END) this.queuedBytes -= chunk.length;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.dueMs.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.dueMs.splice(0, this.head);
      this.head = 0;
    }
    return chunk;
  }

  /** After an outage, what was held goes out no earlier than the network's return. */
  holdUntil(atMs: number): void {
    for (let k = this.head; k < this.dueMs.length; k++) {
      if ((this.dueMs[k] as number) >= atMs) break;
      this.dueMs[k] = atMs;
    }
    this.lastDueMs = Math.max(this.lastDueMs, atMs);
    this.departMs = Math.max(this.departMs, atMs);
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.chunks.length = 0;
    this.dueMs.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }
}
