import type { Socket } from "node:net";

/**
 * Wire framing built once per message, and writes corked per tick. A
 * message fanned out to N sockets is framed once (the WebSocket frame
 * header with the payload, the HTTP/1.1 chunk around the SSE event) and the
 * same Buffer is written N times; a socket that gets several messages in
 * one tick sends them in one system call.
 */

/**
 * An unmasked, final RFC 6455 text frame: header and payload in one Buffer.
 * A server never masks, and per-message deflate is off, so these bytes are
 * the same for every receiving socket.
 */
export function wsTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/** One chunk of an HTTP/1.1 `transfer-encoding: chunked` body: size line, bytes, CRLF. */
export function httpChunk(payload: Buffer): Buffer {
  const sizeLine = `${payload.length.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafe(sizeLine.length + payload.length + 2);
  const at = chunk.write(sizeLine, 0, "latin1");
  payload.copy(chunk, at);
  chunk[at + payload.length] = 0x0d;
  chunk[at + payload.length + 1] = 0x0a;
  return chunk;
}

/**
 * Writes to one socket; from the second write in a tick on, corked until
 * the tick ends, so the writes of one tick leave in one system call. The
 * first write goes straight out: most ticks carry one message per socket,
 * and corking that one would only add the stream's buffering to its cost.
 * One per connection; it holds no buffer of its own.
 */
export class TickCorkedWriter {
  private touched = false;
  private corked = false;

  constructor(readonly socket: Socket) {}

  write(bytes: Buffer): void {
    if (!this.touched) {
      this.touched = true;
      scheduleUncork(this);
    } else if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    this.socket.write(bytes);
  }

  /** Bytes handed to the socket but not yet to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  /** Called once at the end of a tick in which this writer wrote. */
  uncork(): void {
    this.touched = false;
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }
}

/** Writers that wrote in this tick; one nextTick settles them all. */
const corked: TickCorkedWriter[] = [];

function scheduleUncork(writer: TickCorkedWriter): void {
  if (corked.length === 0) process.nextTick(uncorkAll);
  corked.push(writer);
}

function uncorkAll(): void {
  // Index loop: a write during an uncork may cork (and append) another writer.
  for (let i = 0; i < corked.length; i++) (corked[i] as TickCorkedWriter).uncork();
  corked.length = 0;
}
