import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { monoMs } from "../util/clock.js";
import { seededRandom } from "../util/random.js";
import type { NetworkProfile } from "./network-profile.js";

/**
 * In-process network shaping of one TCP connection (`clients.network`): a
 * Duplex between a client and its real socket that delays each direction's
 * bytes by latency ± jitter without reordering them, paces them through a
 * bandwidth cap, stalls them as TCP does after a lost segment, and holds
 * everything while the client's network is down. The cap PAUSES READING the
 * real socket once more than a bandwidth-delay product waits, so the
 * server's kernel and then its own send buffer fill, exactly as behind a
 * slow phone link: the server meets real TCP backpressure. Under TLS the
 * shaped bytes are the TCP ones (tls.ts wraps a ShapedSocket).
 *
 * A client with no profile never gets here: its socket is the plain one.
 */

/** Segment size when bytes are paced or can be lost: an Ethernet MSS. */
const SEGMENT_BYTES = 1460;
/** Linux's smallest retransmission timeout (TCP_RTO_MIN): the least a lost segment stalls. */
const MIN_RTO_MS = 200;
/** What the paced direction may hold beyond one bandwidth-delay product before reading stops. */
const QUEUE_FLOOR_BYTES = 16 * 1024;

/**
 * One simulated client's network, shared by all its connections (a
 * reconnect goes out over the same network): its profile, its own random
 * stream, and when it is down (the profile's blackholes from a per-client
 * offset, and any outages a fault adds).
 */
export class ClientNetwork {
  readonly random: () => number;
  /** Start of the first blackhole, monotonic ms. */
  private readonly blackholeFromMs: number;
  /** Extra outages [from, to) in monotonic ms, ascending (flap faults); consumed as time passes. */
  private readonly outages: number[] = [];
  /** When each extra outage ends, ascending (kept: the subscriber times its catch-up from them). */
  readonly returnsMs: number[] = [];

  constructor(
    readonly profile: NetworkProfile,
    /** When the client's clock starts (the run's ramp-up), monotonic ms. */
    originMs: number,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    const hole = profile.blackhole;
    // Staggered: each client's first blackhole falls somewhere in its first period.
    this.blackholeFromMs = hole === null ? 0 : originMs + this.random() * hole.everyMs;
  }

  /** Takes the network away over [fromMs, toMs) (monotonic ms). */
  addOutage(fromMs: number, toMs: number): void {
    let at = this.outages.length;
    while (at > 0 && (this.outages[at - 2] as number) > fromMs) at -= 2;
    this.outages.splice(at, 0, fromMs, toMs);
    at = this.returnsMs.length;
    while (at > 0 && (this.returnsMs[at - 1] as number) > toMs) at--;
    this.returnsMs.splice(at, 0, toMs);
  }

  /** When the network is down at `nowMs`, when it comes back; 0 when it is up. */
  downUntil(nowMs: number): number {
    let until = 0;
    const hole = this.profile.blackhole;
    if (hole !== null && nowMs >= this.blackholeFromMs) {
      const into = (nowMs - this.blackholeFromMs) % hole.everyMs;
      if (into < hole.forMs) until = nowMs - into + hole.forMs;
    }
    const outages = this.outages;
    // Past outages go; the list stays short however long the run.
    while (outages.length > 0 && (outages[1] as number) <= nowMs) outages.splice(0, 2);
    for (let k = 0; k < outages.length; k += 2) {
      const from = outages[k] as number;
      if (from > nowMs) break;
      until = Math.max(until, outages[k + 1] as number);
    }
    return until;
  }

  /** One segment's one-way delay: latency ± jitter, plus a retransmission timeout when lost. */
  delayMs(): number {
    const { latencyMs, jitterMs, loss } = this.profile;
    let delay = latencyMs;
    if (jitterMs > 0) delay = Math.max(0, delay + (this.random() * 2 - 1) * jitterMs);
    if (loss > 0 && this.random() < loss) delay += this.rtoMs();
    return delay;
  }

  /** The retransmission timeout of a connection on this network (RFC 6298, Linux's floor). */
  rtoMs(): number {
    const { latencyMs, jitterMs } = this.profile;
    return Math.max(MIN_RTO_MS, 2 * latencyMs + 4 * 2 * jitterMs);
  }
}

/**
 * One direction of a connection: segments waiting for their delivery time,
 * in order. Flat arrays and a head index rather than an object per segment.
 */
class Lane {
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
    private readonly network: ClientNetwork,
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

const END = Symbol("end");

/**
 * A client's connection behind its network. It stands in for the socket
 * (`write`, 'data', 'connect', 'close', `bytesRead`/`bytesWritten` of the
 * real socket, so bytes on the wire are still counted from the kernel's side).
 */
export class ShapedSocket extends Duplex {
  private readonly inbound: Lane;
  private readonly outbound: Lane;
  /** The client's writes wait for this when the up lane is full. */
  private writeCallback: ((error?: Error | null) => void) | null = null;
  private endCallback: ((error?: Error | null) => void) | null = null;
  private realError: Error | null = null;
  private realClosed = false;
  /** Reading the real socket stopped: the down lane is full, or the client does not read. */
  private paused = false;
  private timeoutForwarded = false;
  connecting = true;

  constructor(
    private readonly real: Socket,
    private readonly network: ClientNetwork,
  ) {
    super({ allowHalfOpen: false });
    const { profile } = network;
    this.inbound = new Lane(network, profile.downBytesPerSec);
    this.outbound = new Lane(network, profile.upBytesPerSec);
    real.on("data", (chunk: Buffer) => this.onRealData(chunk));
    real.once("connect", () => this.onRealConnect());
    real.once("end", () => this.onRealEnd());
    real.on("error", (error) => {
      this.realError = error;
    });
    real.once("close", () => this.onRealClose());
  }

  /** Bytes the real socket read from the kernel: what crossed the wire. */
  get bytesRead(): number {
    return this.real.bytesRead;
  }

  get bytesWritten(): number {
    return this.real.bytesWritten;
  }

  get remoteAddress(): string | undefined {
    return this.real.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.real.remotePort;
  }

  setNoDelay(noDelay?: boolean): this {
    this.real.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.real.setKeepAlive(enable, initialDelay);
    return this;
  }

  // What node:http's agent and `ws` call on a connection (the Socket.IO
  // client's sockets come through an http.Agent: targets/socketio-client.ts).

  /** The idle timeout of the real socket; its 'timeout' is this socket's. */
  setTimeout(timeoutMs: number, callback?: () => void): this {
    if (!this.timeoutForwarded) {
      this.timeoutForwarded = true;
      this.real.on("timeout", () => this.emit("timeout"));
    }
    this.real.setTimeout(timeoutMs);
    if (callback !== undefined) this.once("timeout", callback);
    return this;
  }

  ref(): this {
    this.real.ref();
    return this;
  }

  unref(): this {
    this.real.unref();
    return this;
  }

  // The TCP handshake crosses the network too: one round trip (SYN, SYN-ACK), and not while it is down.
  private onRealConnect(): void {
    const nowMs = monoMs();
    const readyMs = nowMs + this.network.delayMs() + this.network.delayMs();
    setTimeout(emitConnect, readyMs - nowMs, this);
  }

  /** @internal the connect delay is over (or the network came back). */
  finishConnect(): void {
    if (this.destroyed) return;
    const nowMs = monoMs();
    const downUntil = this.network.downUntil(nowMs);
    if (downUntil > 0) {
      setTimeout(emitConnect, downUntil - nowMs + this.network.profile.latencyMs, this);
      return;
    }
    this.connecting = false;
    // The first request leaves once the handshake is done, and takes its own one-way trip.
    this.outbound.holdUntil(nowMs + this.network.delayMs());
    this.emit("connect");
    this.emit("ready");
    this.arm(this.outbound);
  }

  private onRealData(chunk: Buffer): void {
    const lane = this.inbound;
    lane.add(chunk, monoMs());
    if (lane.queuedBytes > lane.limitBytes) this.pauseReal();
    this.arm(lane);
  }

  private onRealEnd(): void {
    this.inbound.end(monoMs());
    this.arm(this.inbound);
  }

  private onRealClose(): void {
    this.realClosed = true;
    // Bytes still on their way arrive first; an error (a reset) cuts them as it would.
    if (this.realError !== null || this.inbound.empty) this.destroy(this.realError ?? undefined);
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const lane = this.outbound;
    lane.add(chunk, monoMs());
    this.arm(lane);
    if (lane.queuedBytes > lane.limitBytes) this.writeCallback = callback;
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.outbound.end(monoMs());
    this.endCallback = callback;
    this.arm(this.outbound);
  }

  override _read(): void {
    if (this.paused && this.inbound.queuedBytes <= this.inbound.limitBytes / 2) this.resumeReal();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inbound.clear();
    this.outbound.clear();
    this.real.destroy();
    callback(error);
  }

  private pauseReal(): void {
    if (this.paused) return;
    this.paused = true;
    this.real.pause();
  }

  private resumeReal(): void {
    this.paused = false;
    this.real.resume();
  }

  /** Sets the lane's timer for its head segment, unless one is set. */
  private arm(lane: Lane): void {
    if (lane.timer !== null || lane.empty || this.destroyed) return;
    // Nothing goes out before the connection is up.
    if (lane === this.outbound && this.connecting) return;
    const waitMs = Math.max(0, (lane.dueMs[lane.head] as number) - monoMs());
    lane.timer = setTimeout(lane === this.inbound ? flushInbound : flushOutbound, waitMs, this);
  }

  /** @internal a lane's head is due: hands over every due segment, in order. */
  flush(inbound: boolean): void {
    const lane = inbound ? this.inbound : this.outbound;
    lane.timer = null;
    if (this.destroyed) return;
    const nowMs = monoMs();
    const downUntil = this.network.downUntil(nowMs);
    if (downUntil > 0) {
      // The network is gone: nothing crosses, and what the server sends piles up on its side.
      if (inbound) this.pauseReal();
      lane.holdUntil(downUntil + this.network.profile.latencyMs);
      this.arm(lane);
      return;
    }
    while (!lane.empty && (lane.dueMs[lane.head] as number) <= nowMs + 0.5) {
      const chunk = lane.take();
      if (inbound) {
        if (chunk === END) {
          this.push(null);
          continue;
        }
        if (!this.push(chunk)) this.pauseReal();
      } else if (chunk === END) {
        this.real.end();
        this.endCallback?.();
        this.endCallback = null;
      } else {
        this.real.write(chunk);
      }
    }
    if (inbound) {
      if (lane.empty && this.realClosed) {
        this.destroy(this.realError ?? undefined);
        return;
      }
      if (this.paused && lane.queuedBytes <= lane.limitBytes / 2 && this.readableLength === 0) {
        this.resumeReal();
      }
    } else if (this.writeCallback !== null && lane.queuedBytes <= lane.limitBytes) {
      const callback = this.writeCallback;
      this.writeCallback = null;
      callback();
    }
    this.arm(lane);
  }
}

// Timer callbacks at module level, given the socket as an argument: no closure per timer.
function emitConnect(socket: ShapedSocket): void {
  socket.finishConnect();
}

function flushInbound(socket: ShapedSocket): void {
  socket.flush(true);
}

function flushOutbound(socket: ShapedSocket): void {
  socket.flush(false);
}
