import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * A Duplex that stands in for a real TCP socket, as a wrapper between a
 * client and that socket must (shaped-socket.ts): the counters, addresses
 * and options that node:http's agent, `ws` and the byte accounting read or
 * set on a socket are the real socket's. Which bytes go through, and when,
 * is the subclass's.
 */
export abstract class SocketStandIn extends Duplex {
  private timeoutForwarded = false;

  constructor(protected readonly real: Socket) {
    super({ allowHalfOpen: false });
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
}
