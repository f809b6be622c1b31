import { isUtf8 } from "node:buffer";
import { createHash, randomFillSync } from "node:crypto";
import type { Socket } from "node:net";
import { MAX_WS_MESSAGE_BYTES } from "./bounds.js";
import { headerValue } from "./http1-parser.js";
import { connectTcp, type HttpTarget } from "./lean-http.js";
import type { SocketTracker } from "./types.js";

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
 */

const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
/** Refilled for every connection's key: one buffer, not one per connection. */
const KEY_BYTES = Buffer.alloc(16);

/** How long a failed connection waits for the server to close TCP after our close frame. */
const FAIL_GRACE_MS = 2000;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export interface LeanWebSocketHandler {
  onOpen(): void;
  /** A complete text or binary message. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** Any control frame or message arrived (pings included): the connection is alive. */
  onActivity?(): void;
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

export class LeanWebSocket {
  state = LeanState.Connecting;
  private readonly socket: Socket;
  /** The handshake key, until the server's answer to it is checked. */
  private key: string | null;
  private pending: Buffer = EMPTY;
  /** Bytes of `pending` filled, when it was made for one whole frame still arriving; else -1. */
  private pendingFill = -1;
  /** Set by `readFrame` when a frame's header is in but not all its payload: the frame's size. */
  private incompleteSize = 0;
  private fragments: Buffer[] | null = null;
  /** Bytes in `fragments`: a fragmented message is bounded as a whole, not frame by frame. */
  private fragmentsBytes = 0;
  private fragmentsBinary = false;
  /** A fragmented text message's last bytes that begin a character the next fragment ends. */
  private utf8Tail: Buffer = EMPTY;
  /** The upgrade's deadline, then the close handshake's. */
  private timer: NodeJS.Timeout | null = null;
  private closeCode = 1006;
  private closeReason = "";
  /** A close frame came in, or the connection was failed: later bytes are not read. */
  private inputDone = false;

  constructor(
    target: HttpTarget,
    path: string,
    sockets: SocketTracker,
    private readonly handler: LeanWebSocketHandler,
    handshakeTimeoutMs: number,
    /** Subprotocols to ask for (`sec-websocket-protocol`); none when empty. */
    subprotocols: readonly string[] = [],
  ) {
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
    if (this.inputDone) return;
    let data = chunk;
    if (this.pendingFill >= 0) {
      // A frame of known size is arriving into a buffer made for it: each
      // byte is copied once, however many reads a large frame takes.
      const frame = this.pending;
      const taken = chunk.copy(frame, this.pendingFill);
      this.pendingFill += taken;
      if (this.pendingFill < frame.length) return;
      this.pending = EMPTY;
      this.pendingFill = -1;
      this.readFrame(frame, 0);
      if (taken === chunk.length) return;
      data = chunk.subarray(taken);
    } else if (this.pending.length > 0) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = EMPTY;
    }
    let at = 0;
    if (this.state === LeanState.Connecting) {
      at = this.readUpgrade(data);
      if (at < 0) return;
    }
    while (at < data.length && !this.inputDone) {
      const next = this.readFrame(data, at);
      if (next < 0) {
        this.keep(data, at);
        return;
      }
      at = next;
    }
  }

  /** Keeps an incomplete frame: once its header is in, in a buffer of the whole frame's size. */
  private keep(data: Buffer, at: number): void {
    if (this.incompleteSize > 0) {
      this.pending = Buffer.allocUnsafe(this.incompleteSize);
      this.pendingFill = data.copy(this.pending, 0, at);
    } else {
      this.pending = Buffer.from(data.subarray(at));
    }
  }

  /** The 101 answer; returns the offset of the first frame byte, or -1 (more bytes, or refused). */
  private readUpgrade(data: Buffer): number {
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      if (data.length > 16 * 1024) this.fail(1002, "upgrade answer too large");
      else this.pending = Buffer.from(data);
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

  /** One frame starting at `at`; returns the offset after it, or -1 when it is not complete yet. */
  private readFrame(data: Buffer, at: number): number {
    if (data.length - at < 2) return this.headerIncomplete();
    const b0 = data[at] as number;
    const b1 = data[at + 1] as number;
    if (b1 & 0x80) {
      this.fail(1002, "the server masked a frame");
      return data.length;
    }
    if (b0 & 0x70) {
      this.fail(1002, "reserved bits set without an extension");
      return data.length;
    }
    let length = b1 & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (data.length - at < 4) return this.headerIncomplete();
      length = data.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      if (data.length - at < 10) return this.headerIncomplete();
      length = data.readUInt32BE(at + 2) * 2 ** 32 + data.readUInt32BE(at + 6);
      start = at + 10;
    }
    // Control frames are never fragmented and carry at most 125 bytes (RFC 6455 5.5).
    if (b0 & 0x08 && (length > 125 || (b0 & 0x80) === 0)) {
      this.fail(1002, "control frame fragmented or longer than 125 bytes");
      return data.length;
    }
    if (length > MAX_WS_MESSAGE_BYTES) {
      this.fail(1009, "message too big");
      return data.length;
    }
    if (data.length - start < length) {
      this.incompleteSize = start + length - at;
      return -1;
    }
    this.handler.onActivity?.();
    this.onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, data.subarray(start, start + length));
    return start + length;
  }

  private headerIncomplete(): number {
    this.incompleteSize = 0;
    return -1;
  }

  private onFrame(opcode: number, fin: boolean, payload: Buffer): void {
    switch (opcode) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragments !== null) {
          this.fail(1002, "a new message began before the fragmented one ended");
          return;
        }
        if (fin) {
          // isUtf8 is native and allocation-free: the one check text needs per message.
          if (opcode === OP_TEXT && !isUtf8(payload)) this.fail(1007, "text message is not UTF-8");
          else this.handler.onMessage(payload, opcode === OP_BINARY);
          return;
        }
        this.utf8Tail = EMPTY;
        if (opcode === OP_TEXT && !this.fragmentIsUtf8(payload, false)) return;
        this.fragments = [Buffer.from(payload)];
        this.fragmentsBytes = payload.length;
        this.fragmentsBinary = opcode === OP_BINARY;
        return;
      case OP_CONTINUATION: {
        if (this.fragments === null) {
          this.fail(1002, "continuation frame without a message");
          return;
        }
        this.fragmentsBytes += payload.length;
        if (this.fragmentsBytes > MAX_WS_MESSAGE_BYTES) {
          this.fragments = null;
          this.fail(1009, "message too big");
          return;
        }
        if (!this.fragmentsBinary && !this.fragmentIsUtf8(payload, fin)) return;
        this.fragments.push(Buffer.from(payload));
        if (!fin) return;
        const message = Buffer.concat(this.fragments);
        this.fragments = null;
        this.handler.onMessage(message, this.fragmentsBinary);
        return;
      }
      case OP_PING:
        if (this.state === LeanState.Open) this.socket.write(maskedFrame(OP_PONG, payload));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        this.onCloseFrame(payload);
        return;
      default:
        this.fail(1002, `unknown opcode ${opcode}`);
    }
  }

  /**
   * Fails fast on a fragmented text message that is not UTF-8: each fragment
   * is checked when it comes, not the message when it ends (Autobahn 6.4),
   * a character cut at a fragment's end with the next fragment. Only
   * fragmented messages pay for this; a whole frame is checked in one call.
   */
  private fragmentIsUtf8(payload: Buffer, fin: boolean): boolean {
    const bytes = this.utf8Tail.length > 0 ? Buffer.concat([this.utf8Tail, payload]) : payload;
    const cut = fin ? 0 : incompleteTail(bytes);
    const tail = cut > 0 ? Buffer.from(bytes.subarray(bytes.length - cut)) : EMPTY;
    this.utf8Tail = tail;
    if (isUtf8(bytes.subarray(0, bytes.length - cut)) && (cut === 0 || couldStartUtf8(tail)))
      return true;
    this.fail(1007, "text message is not UTF-8");
    return false;
  }

  /** The server's close: checked (RFC 6455 5.5.1, 7.4), then answered with its code. */
  private onCloseFrame(payload: Buffer): void {
    if (payload.length === 1) {
      this.fail(1002, "close frame with a 1-byte payload");
      return;
    }
    if (payload.length >= 2 && !validCloseCode(payload.readUInt16BE(0))) {
      this.fail(1002, `invalid close code ${payload.readUInt16BE(0)}`);
      return;
    }
    if (!isUtf8(payload.subarray(2))) {
      this.fail(1007, "close reason is not UTF-8");
      return;
    }
    this.inputDone = true;
    this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    this.closeReason = payload.length > 2 ? payload.toString("utf8", 2) : "";
    if (this.state === LeanState.Open) {
      this.state = LeanState.Closing;
      this.socket.end(maskedFrame(OP_CLOSE, payload.subarray(0, 2)));
    } else {
      this.socket.end();
    }
  }

  /**
   * Fails the connection (RFC 6455 7.1.7): once open, a close frame with
   * `code` tells the server why, and the server has `FAIL_GRACE_MS` to
   * close the TCP connection; what it sends meanwhile is not read.
   */
  private fail(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    this.inputDone = true;
    this.fragments = null;
    this.utf8Tail = EMPTY;
    this.pending = EMPTY;
    this.pendingFill = -1;
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

/**
 * Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry, as ws
 * has them): 1004-1006 and 1015 are reserved for local use, 1012-1014 were
 * registered after the RFC (1013 is the reference server's "try again later").
 */
export function validCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** How many bytes at the end begin a UTF-8 character that needs more (0 when none). */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * Whether the start of a character can still become valid UTF-8: it is
 * completed with the smallest continuation bytes its lead allows (RFC 3629:
 * E0 needs A0 or more, F0 needs 90 or more) and checked, so F4 90 (beyond
 * U+10FFFF) or ED A0 (a surrogate) fail before the rest arrives.
 */
function couldStartUtf8(start: Buffer): boolean {
  const lead = start[0] as number;
  const probe = Buffer.alloc(lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2, 0x80);
  start.copy(probe);
  if (start.length === 1 && lead === 0xe0) probe[1] = 0xa0;
  if (start.length === 1 && lead === 0xf0) probe[1] = 0x90;
  return isUtf8(probe);
}

/** One masked frame with FIN set. A client's frames are masked; the key need not be secret here. */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const mask = (Math.random() * 0x100000000) >>> 0;
  frame.writeUInt32BE(mask, headerLength);
  const maskAt = headerLength;
  const dataAt = headerLength + 4;
  for (let i = 0; i < length; i++) {
    frame[dataAt + i] = (payload[i] as number) ^ (frame[maskAt + (i & 3)] as number);
  }
  return frame;
}
