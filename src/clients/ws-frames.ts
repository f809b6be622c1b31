/**
 * RFC 6455 frames as the lean WebSocket client (lean-ws.ts) writes them: the
 * opcodes, and one masked frame with FIN set, since a client masks every
 * frame it sends. The frames it reads are ws-frame-reader.ts's.
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

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
