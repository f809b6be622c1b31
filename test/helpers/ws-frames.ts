/**
 * RFC 6455 frames built by hand and read back, for the conformance suite:
 * it must send what no well-behaved library would (reserved bits and
 * opcodes, fragmented control frames, lengths at every encoding edge), so
 * it writes raw bytes on a TCP socket and parses whatever the peer answers.
 */

export const OP = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export interface FrameSpec {
  opcode: number;
  payload?: Buffer;
  /** FIN; true unless told. */
  fin?: boolean;
  /** RSV1..3 as the three bits 0b100, 0b010, 0b001. */
  rsv?: number;
}

/** One frame; masked (with a fixed non-zero key) when a client sends it, as RFC 6455 5.3 requires. */
export function encodeFrame(spec: FrameSpec, masked: boolean): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const maskAt = 2 + lengthBytes;
  const dataAt = maskAt + (masked ? 4 : 0);
  const frame = Buffer.alloc(dataAt + length);
  frame[0] = (spec.fin === false ? 0 : 0x80) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  const maskBit = masked ? 0x80 : 0;
  if (lengthBytes === 0) frame[1] = maskBit | length;
  else if (lengthBytes === 2) {
    frame[1] = maskBit | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = maskBit | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) {
    payload.copy(frame, dataAt);
    return frame;
  }
  const key = [0x37, 0xfa, 0x21, 0x3d];
  for (let i = 0; i < 4; i++) frame[maskAt + i] = key[i] as number;
  for (let i = 0; i < length; i++)
    frame[dataAt + i] = (payload[i] as number) ^ (key[i & 3] as number);
  return frame;
}

/** Only a header that announces `length` payload bytes (which are never sent): for size caps. */
export function encodeHeaderOnly(opcode: number, length: number, masked: boolean): Buffer {
  const header = Buffer.alloc(10 + (masked ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (masked ? 0x80 : 0) | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason: Buffer | string = ""): Buffer {
  const text = typeof reason === "string" ? Buffer.from(reason) : reason;
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

export interface ReadFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Frames out of a byte stream, unmasked; a partial frame waits for the next chunk. */
export class FrameReader {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): ReadFrame[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const frames: ReadFrame[] = [];
    for (;;) {
      const data = this.buffered;
      if (data.length < 2) break;
      const b1 = data[1] as number;
      let length = b1 & 0x7f;
      let at = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        length = Number(data.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const dataAt = at + (masked ? 4 : 0);
      if (data.length < dataAt + length) break;
      const payload = Buffer.from(data.subarray(dataAt, dataAt + length));
      if (masked) {
        for (let i = 0; i < length; i++)
          payload[i] = (payload[i] as number) ^ (data[at + (i & 3)] as number);
      }
      const b0 = data[0] as number;
      frames.push({
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 7,
        opcode: b0 & 0xf,
        masked,
        payload,
      });
      this.buffered = data.subarray(dataAt + length);
    }
    return frames;
  }
}
