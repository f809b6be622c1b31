import { createHash, randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import { headerValue } from "./http1-parser.js";
import { connectTcp, type HttpTarget } from "./lean-http.js";
import type { SocketTracker } from "./types.js";
import { type MessageSink, WsFrameReader } from "./ws-frame-reader.js";
import { maskedFrame, OP_CLOSE, OP_PONG, OP_TEXT } from "./ws-frames.js";

/**
 * A lean RFC 6455 client for subscribers: the upgrade written by hand on a
 * `net` socket, server frames read in place, no extensions. What it keeps
 * per connection is the socket and a dozen fields, where the `ws` package
 * keeps a request, a receiver stream and a sender (about 10 KB against
 * 5.5 KB of resident memory per idle connection here), which decides how
 * many simulated clients one machine holds. Text frames are handed over as
 * Buffers; fragmented messages are joined; pings are answered; frames it
 * sends are masked, as the protocol requires of clients. A server that
 * breaks RFC 6455 (reserved bits or opcodes, fragmented or oversized
 * control frames, text that is not UTF-8, bad close codes) gets the
 * connection failed with a close frame naming the fault (1002, 1007, 1009),
 * as test/ws-conformance.test.ts checks case by case.
 *
 * This file is the connection: the upgrade, sending, closing and failing.
 * Reading frames is ws-frame-reader.ts's (the class it extends), writing
 * them ws-frames.ts's.
 */

const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
/** Refilled for every connection's key: one buffer, not one per connection. */
const KEY_BYTES = Buffer.alloc(16);

/** How long a failed connection waits for the server to close TCP after our close frame. */
const FAIL_GRACE_MS = 2000;

export interface LeanWebSocketHandler extends MessageSink {
  onOpen(): void;
  /** The upgrade was refused: the status, the answer's first line and its header block. */
  onRefused(status: number, reason: string, headers: string): void;
  /** The connection is gone (after open, or a failed attempt); called once. */
  onClose(code: number, reason: string): void;
}

/** Readiness of a lean WebSocket, as `ws` names them. */
export enum LeanState {
  Connecting = 0,
  Open = 1,
  Closing = 2,
  Closed = 3,
}

export class LeanWebSocket extends WsFrameReader {
  state = LeanState.Connecting;
  declare protected readonly handler: LeanWebSocketHandler;
  private readonly socket: Socket;
  /** The handshake key, until the server's answer to it is checked. */
  private key: string | null;
  /** The upgrade answer's bytes so far, until its blank line is in. */
  private head: Buffer = EMPTY;
  /** The upgrade's deadline, then the close handshake's. */
  private timer: NodeJS.Timeout | null = null;
  private closeCode = 1006;
  private closeReason = "";

  constructor(
    target: HttpTarget,
    path: string,
    sockets: SocketTracker,
    handler: LeanWebSocketHandler,
    handshakeTimeoutMs: number,
    /** Subprotocols to ask for (`sec-websocket-protocol`); none when empty. */
    subprotocols: readonly string[] = [],
  ) {
    super(handler);
    this.key = randomFillSync(KEY_BYTES).toString("base64");
    const socket = connectTcp(target);
    this.socket = socket;
    sockets.adopt(socket);
    socket.write(
      `GET ${path} HTTP/1.1\r\nhost: ${target.authority}\r\nupgrade: websocket\r\n` +
        `connection: Upgrade\r\nsec-websocket-key: ${this.key}\r\nsec-websocket-version: 13\r\n` +
        (subprotocols.length > 0 ? `sec-websocket-protocol: ${subprotocols.join(", ")}\r\n` : "") +
        "\r\n",
      "latin1",
    );
    this.timer = setTimeout(() => {
      if (this.state === LeanState.Connecting) this.fail(1006, "no upgrade answer in time");
    }, handshakeTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => {
      this.closeReason ||= error.message;
    });
    socket.once("close", () => {
      sockets.release(socket);
      this.onSocketClose();
    });
  }

  /** Sends a text message (masked). */
  send(text: string | Buffer): void {
    if (this.state !== LeanState.Open) return;
    const payload = typeof text === "string" ? Buffer.from(text) : text;
    this.socket.write(maskedFrame(OP_TEXT, payload));
  }

  /** Starts the closing handshake; the socket is cut if the server does not answer in time. */
  close(code = 1000, graceMs = 2000): void {
    if (this.state === LeanState.Connecting) {
      this.terminate();
      return;
    }
    if (this.state !== LeanState.Open) return;
    this.state = LeanState.Closing;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.write(maskedFrame(OP_CLOSE, payload));
    this.timer = setTimeout(() => this.socket.destroy(), graceMs);
    this.timer.unref();
  }

  /** Cuts the connection at once. */
  terminate(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.state !== LeanState.Connecting) {
      this.receive(chunk);
      return;
    }
    if (this.inputDone) return;
    const data = this.head.length > 0 ? Buffer.concat([this.head, chunk]) : chunk;
    this.head = EMPTY;
    const at = this.readUpgrade(data);
    if (at >= 0) this.readFrames(data, at);
  }

  /** The 101 answer; returns the offset of the first frame byte, or -1 (more bytes, or refused). */
  private readUpgrade(data: Buffer): number {
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      if (data.length > 16 * 1024) this.fail(1002, "upgrade answer too large");
      else this.head = Buffer.from(data);
      return -1;
    }
    const head = data.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const firstLineEnd = head.indexOf("\r\n");
    const headers = firstLineEnd < 0 ? "" : head.slice(firstLineEnd + 2);
    if (status !== 101) {
      this.state = LeanState.Closed;
      this.handler.onRefused(status, head.slice(0, firstLineEnd), headers);
      this.socket.destroy();
      return -1;
    }
    const expected = createHash("sha1")
      .update(this.key + ACCEPT_GUID)
      .digest("base64");
    this.key = null;
    if (headerValue(headers, "sec-websocket-accept") !== expected) {
      this.fail(1002, "the server's Sec-WebSocket-Accept does not match the key");
      return -1;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.state = LeanState.Open;
    this.handler.onOpen();
    return end + 4;
  }

  protected onPing(payload: Buffer): void {
    if (this.state === LeanState.Open) this.socket.write(maskedFrame(OP_PONG, payload));
  }

  /** The server's close (checked by the reader): answered with its code. */
  protected onServerClose(code: number, reason: string, codeBytes: Buffer): void {
    this.closeCode = code;
    this.closeReason = reason;
    if (this.state === LeanState.Open) {
      this.state = LeanState.Closing;
      this.socket.end(maskedFrame(OP_CLOSE, codeBytes));
    } else {
      this.socket.end();
    }
  }

  /**
   * Fails the connection (RFC 6455 7.1.7): once open, a close frame with
   * `code` tells the server why, and the server has `FAIL_GRACE_MS` to
   * close the TCP connection; what it sends meanwhile is not read.
   */
  protected fail(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    this.stopReading();
    this.head = EMPTY;
    if (this.state !== LeanState.Open) {
      this.socket.destroy();
      return;
    }
    this.state = LeanState.Closing;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.end(maskedFrame(OP_CLOSE, payload));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.socket.destroy(), FAIL_GRACE_MS);
    this.timer.unref();
  }

  private onSocketClose(): void {
    if (this.timer) clearTimeout(this.timer);
    const wasRefused = this.state === LeanState.Closed;
    this.state = LeanState.Closed;
    if (!wasRefused) this.handler.onClose(this.closeCode, this.closeReason);
  }
}
