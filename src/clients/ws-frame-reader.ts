import { isUtf8 } from "node:buffer";
import { MAX_WS_MESSAGE_BYTES } from "./bounds.js";
import { OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT } from "./ws-frames.js";

/**
 * Reads a server's RFC 6455 frames off the byte stream of the lean
 * WebSocket client (lean-ws.ts, which extends it): frames are read in place,
 * a frame split over reads is received into one buffer of its size, headers
 * are checked (no mask, no reserved bits, control frames whole and short,
 * the size bound), fragmented messages are joined with their text checked
 * as UTF-8 fragment by fragment, and close frames are checked. What a ping,
 * a close or a fault does to the connection is the subclass's. A base class,
 * not an object the connection holds: an idle connection costs no more.
 */

const EMPTY = Buffer.alloc(0);

/** Where whole messages go: the connection's handler. */
export interface MessageSink {
  /** A complete text or binary message. */
  onMessage(data: Buffer, isBinary: boolean): void;
  /** Any control frame or message arrived (pings included): the connection is alive. */
  onActivity?(): void;
}

export abstract class WsFrameReader {
  /** A close frame came in, or the connection was failed: later bytes are not read. */
  protected inputDone = false;
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

  constructor(protected readonly handler: MessageSink) {}

  /** A ping's payload, to be answered with a pong. */
  protected abstract onPing(payload: Buffer): void;
  /** A valid close frame: its code (1005: none), reason and code bytes (empty: none); input is done. */
  protected abstract onServerClose(code: number, reason: string, codeBytes: Buffer): void;
  /** Fails the connection with `code`; must call `stopReading`. */
  protected abstract fail(code: number, reason: string): void;

  /** Frame bytes as they come off the socket. */
  protected receive(chunk: Buffer): void {
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
    this.readFrames(data, 0);
  }

  /** Reads the frames in `data` from `at` on, keeping an incomplete last one for the next read. */
  protected readFrames(data: Buffer, from: number): void {
    let at = from;
    while (at < data.length && !this.inputDone) {
      const next = this.readFrame(data, at);
      if (next < 0) {
        this.keep(data, at);
        return;
      }
      at = next;
    }
  }

  /** No more input is read, and what was half read is dropped. */
  protected stopReading(): void {
    this.inputDone = true;
    this.fragments = null;
    this.utf8Tail = EMPTY;
    this.pending = EMPTY;
    this.pendingFill = -1;
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
        this.onPing(payload);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE:
        this.readClose(payload);
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

  /** The server's close, checked (RFC 6455 5.5.1, 7.4) before the subclass answers it. */
  private readClose(payload: Buffer): void {
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
    this.onServerClose(
      payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
      payload.length > 2 ? payload.toString("utf8", 2) : "",
      payload.subarray(0, 2),
    );
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
