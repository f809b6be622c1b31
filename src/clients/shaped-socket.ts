import type { Socket } from "node:net";
import { monoMs } from "../util/clock.js";
import { seededRandom } from "../util/random.js";
import type { NetworkProfile } from "./network-profile.js";
import { END, Lane } from "./shaped-lane.js";
import { SocketStandIn } from "./socket-stand-in.js";

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
 *
 * This file holds a client's network (ClientNetwork) and the socket that
 * hands bytes over when they are due; each direction's timing is a Lane
 * (shaped-lane.ts), and what makes it pass for a socket is SocketStandIn
 * (socket-stand-in.ts).
 */

/** Linux's smallest retransmission timeout (TCP_RTO_MIN): the least a lost segment stalls. */
const MIN_RTO_MS = 200;

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
 * A client's connection behind its network. It stands in for the socket
 * (`write`, 'data', 'connect', 'close', and through SocketStandIn
 * `bytesRead`/`bytesWritten` of the real socket, so bytes on the wire are
 * still counted from the kernel's side).
 */
export class ShapedSocket extends SocketStandIn {
  private readonly inbound: Lane;
  private readonly outbound: Lane;
  /** The client's writes wait for this when the up lane is full. */
  private writeCallback: ((error?: Error | null) => void) | null = null;
  private endCallback: ((error?: Error | null) => void) | null = null;
  private realError: Error | null = null;
  private realClosed = false;
  /** Reading the real socket stopped: the down lane is full, or the client does not read. */
  private paused = false;
  connecting = true;

  constructor(
    real: Socket,
    private readonly network: ClientNetwork,
  ) {
    super(real);
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
