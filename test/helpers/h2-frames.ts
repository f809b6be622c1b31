/**
 * A tiny HTTP/2 frame encoder (RFC 9113, section 4) and reader for tests that
 * must send what no well-behaved client library would: frames built by hand,
 * written raw to a TCP socket. Header blocks use HPACK literals with indexed
 * names only (RFC 7541, section 6.2.2), so no HPACK state is needed.
 */
import { connect, type Socket } from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FLAG = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ERROR_CODE = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** One frame: a 9-byte header, then the payload (`length` may lie, for malformed frames). */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
  length = payload.length,
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head.writeUInt8(type & 0xff, 3);
  head.writeUInt8(flags & 0xff, 4);
  head.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([head, payload]);
}

export function settings(entries: [number, number][] = [], flags = 0): Buffer {
  const payload = Buffer.alloc(6 * entries.length);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, flags, 0, payload);
}

export const SETTINGS_ACK = frame(FRAME.SETTINGS, FLAG.ACK, 0);

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code >>> 0);
  return frame(FRAME.RST_STREAM, 0, streamId, payload);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment >>> 0);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
}

export function ping(data: Buffer = Buffer.alloc(8), flags = 0): Buffer {
  return frame(FRAME.PING, flags, 0, data);
}

export function goaway(lastStreamId: number, code: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId >>> 0);
  payload.writeUInt32BE(code >>> 0, 4);
  return frame(FRAME.GOAWAY, 0, 0, payload);
}

/** HPACK integer with an N-bit prefix (RFC 7541, section 5.1). */
function hpackInteger(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

/** Static-table indexes of the names a GET needs (RFC 7541, Appendix A). */
const STATIC = { authority: 1, methodGet: 2, path: 4, schemeHttp: 6 } as const;

function literal(nameIndex: number, value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  return Buffer.concat([
    Buffer.from(hpackInteger(nameIndex, 4, 0x00)),
    Buffer.from(hpackInteger(bytes.length, 7, 0x00)),
    bytes,
  ]);
}

/** The header block of `GET path` (for HEADERS, or split over CONTINUATION frames). */
export function getHeaderBlock(path: string, authority = "127.0.0.1"): Buffer {
  return Buffer.concat([
    Buffer.from([0x80 | STATIC.methodGet, 0x80 | STATIC.schemeHttp]),
    literal(STATIC.path, path),
    literal(STATIC.authority, authority),
  ]);
}

/** HEADERS for `GET path` on `streamId`, complete (END_HEADERS, END_STREAM). */
export function getRequest(streamId: number, path: string): Buffer {
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, streamId, getHeaderBlock(path));
}

/** A frame as read back: type, flags, stream and payload. */
export interface ReadFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * A raw HTTP/2 connection: the preface and an empty SETTINGS are sent on
 * connect; frames the server sends are parsed into `frames` (bounded).
 */
export class RawH2 {
  readonly frames: ReadFrame[] = [];
  closed = false;
  private buffered = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
    });
  }

  static open(port: number, opening: Buffer[] = [PREFACE, settings()]): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.write(Buffer.concat(opening));
        resolve(new RawH2(socket));
      });
    });
  }

  write(...frames: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(frames));
  }

  /** The first frame of `type` the server sent (GOAWAY, SETTINGS...), if any yet. */
  find(type: number, streamId?: number): ReadFrame | undefined {
    return this.frames.find(
      (f) => f.type === type && (streamId === undefined || f.streamId === streamId),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      // Only what a test looks at is kept: a long stream's DATA would grow without end.
      if (this.frames.length < 10_000) {
        this.frames.push({
          type: this.buffered.readUInt8(3),
          flags: this.buffered.readUInt8(4),
          streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(this.buffered.subarray(9, 9 + length)),
        });
      }
      this.buffered = this.buffered.subarray(9 + length);
    }
  }
}

/** The settings in a SETTINGS frame's payload, by identifier. */
export function readSettings(payload: Buffer): Map<number, number> {
  const found = new Map<number, number>();
  for (let at = 0; at + 6 <= payload.length; at += 6) {
    found.set(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
  }
  return found;
}
