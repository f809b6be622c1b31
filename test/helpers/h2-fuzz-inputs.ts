/**
 * Seeded generators of hostile HTTP/2 input, one byte string per input, to be
 * written after the connection preface and the client's SETTINGS (and its
 * ACK of the server's): malformed frames, wrong stream ids, floods, flow
 * control overflow, unfinished header blocks and resets in every stream
 * state. Pure: the same seed gives the same inputs.
 */
import { seededRandom } from "../../src/util/random.js";
import { HEALTHY_CHANNEL } from "./fuzz-inputs.js";
import {
  ERROR_CODE,
  FLAG,
  FRAME,
  frame,
  getHeaderBlock,
  getRequest,
  goaway,
  ping,
  rstStream,
  SETTINGS_ACK,
  settings,
  windowUpdate,
} from "./h2-frames.js";

export interface H2Input {
  kind: string;
  bytes: Buffer;
}

export const H2_CATEGORIES = [
  "malformed",
  "streamIds",
  "floods",
  "flowControl",
  "continuation",
  "resets",
] as const;
export type H2Category = (typeof H2_CATEGORIES)[number];

export function createH2Fuzzer(seed: number): Record<H2Category, () => H2Input> {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(0, 255)));
  const oddId = () => 2 * int(0, 200) + 1;
  // Not the healthy channel: fuzz streams must not disturb what is being checked.
  const path = () => pick(["/api/stream/fuzz-h2", "/api/stream/", "/nowhere", "/healthz"]);
  const input = (kind: string, ...frames: Buffer[]) => ({ kind, bytes: Buffer.concat(frames) });
  const repeat = (count: number, make: (i: number) => Buffer) =>
    Buffer.concat(Array.from({ length: count }, (_, i) => make(i)));

  const malformed = (): H2Input => {
    switch (int(0, 5)) {
      case 0:
        return input("random bytes", bytes(int(1, 200)));
      case 1:
        // Any type (unknown ones included), any flags, a random payload.
        return input(
          "random frame",
          frame(int(0, 20), int(0, 255), pick([0, oddId(), int(0, 0x7fffffff)]), bytes(int(0, 64))),
        );
      case 2:
        // Declared longer than what follows: the server waits for the rest, or times out.
        return input("short frame", frame(pick([0, 1, 4, 6, 8]), 0, 0, bytes(4), int(5, 100)));
      case 3:
        // Beyond SETTINGS_MAX_FRAME_SIZE (16 KiB): FRAME_SIZE_ERROR.
        return input("oversized frame", frame(FRAME.DATA, 0, 1, bytes(20_000)));
      case 4: {
        // Fixed-size frames with the wrong size.
        const type = pick([FRAME.PING, FRAME.RST_STREAM, FRAME.WINDOW_UPDATE, FRAME.PRIORITY]);
        return input(
          `bad length type ${type}`,
          frame(type, 0, type === FRAME.PING ? 0 : 1, bytes(int(0, 12))),
        );
      }
      default:
        return input("settings of bad size", frame(FRAME.SETTINGS, 0, 0, bytes(int(1, 5))));
    }
  };

  const streamIds = (): H2Input => {
    switch (int(0, 7)) {
      case 0:
        return input("DATA on stream 0", frame(FRAME.DATA, 0, 0, bytes(8)));
      case 1:
        return input("HEADERS on an even stream", getRequest(2 * int(1, 100), path()));
      case 2: {
        const high = oddId() + 4;
        return input(
          "stream ids going down",
          getRequest(high, path()),
          getRequest(high - 2, path()),
        );
      }
      case 3:
        return input("SETTINGS on a stream", frame(FRAME.SETTINGS, 0, oddId(), Buffer.alloc(0)));
      case 4:
        return input(
          "HEADERS on stream 0",
          frame(FRAME.HEADERS, FLAG.END_HEADERS, 0, getHeaderBlock(path())),
        );
      case 5:
        // A stream that depends on itself (PRIORITY, 5 bytes: dependency and weight).
        return input(
          "self-dependent PRIORITY",
          frame(FRAME.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 3, 16])),
        );
      case 6:
        return input("HEADERS reusing a stream id", getRequest(1, path()), getRequest(1, path()));
      default:
        return input("PING on a stream", frame(FRAME.PING, 0, oddId(), bytes(8)));
    }
  };

  const floods = (): H2Input => {
    const count = int(50, 400);
    switch (int(0, 4)) {
      case 0:
        return input(
          `SETTINGS x${count}`,
          repeat(count, () => settings([[0x4, int(0, 65_535)]])),
        );
      case 1:
        return input(
          `PING x${count}`,
          repeat(count, () => ping(bytes(8))),
        );
      case 2:
        return input(
          `empty DATA x${count}`,
          getRequest(1, path()),
          repeat(count, () => frame(FRAME.DATA, 0, 1)),
        );
      case 3:
        return input(
          `PRIORITY x${count}`,
          repeat(count, (i) => frame(FRAME.PRIORITY, 0, 2 * i + 1, Buffer.from([0, 0, 0, 0, 16]))),
        );
      default:
        return input(
          `unsolicited SETTINGS ACK x${count}`,
          repeat(count, () => SETTINGS_ACK),
        );
    }
  };

  const flowControl = (): H2Input => {
    switch (int(0, 3)) {
      case 0:
        // Two increments that together pass 2^31 - 1 on the connection.
        return input(
          "connection window overflow",
          windowUpdate(0, 0x7fffffff),
          windowUpdate(0, 0x7fffffff),
        );
      case 1:
        return input(
          "stream window overflow",
          getRequest(1, path()),
          windowUpdate(1, 0x7fffffff),
          windowUpdate(1, 0x7fffffff),
        );
      case 2:
        return input("zero increment", windowUpdate(pick([0, 1]), 0));
      default:
        return input("INITIAL_WINDOW_SIZE beyond 2^31 - 1", settings([[0x4, 0x80000000]]));
    }
  };

  const continuation = (): H2Input => {
    const block = getHeaderBlock(path());
    const half = int(1, block.length - 1);
    const head = frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, half));
    switch (int(0, 4)) {
      case 0:
        return input("HEADERS without END_HEADERS, then nothing", head);
      case 1:
        return input("HEADERS without END_HEADERS, then PING", head, ping());
      case 2:
        return input(
          "CONTINUATION on another stream",
          head,
          frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, block.subarray(half)),
        );
      case 3: {
        // A header block that never ends: CONTINUATION after CONTINUATION (the 2024 flood).
        const count = int(50, 300);
        return input(
          `endless CONTINUATION x${count}`,
          head,
          repeat(count, () => frame(FRAME.CONTINUATION, 0, 1, bytes(int(1, 64)))),
        );
      }
      default:
        return input(
          "CONTINUATION without HEADERS",
          frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block),
        );
    }
  };

  const resets = (): H2Input => {
    const code = pick([
      ERROR_CODE.NO_ERROR,
      ERROR_CODE.PROTOCOL_ERROR,
      ERROR_CODE.INTERNAL_ERROR,
      ERROR_CODE.CANCEL,
      int(0, 0xffffffff),
    ]);
    const sse = `/api/stream/fuzz-h2`;
    switch (int(0, 6)) {
      case 0:
        return input("RST_STREAM on an idle stream", rstStream(oddId(), code));
      case 1:
        // Open: HEADERS without END_STREAM, then reset.
        return input(
          "RST_STREAM on an open stream",
          frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, getHeaderBlock(sse)),
          rstStream(1, code),
        );
      case 2:
        // Half-closed (remote): the request is complete; the server is answering.
        return input("RST_STREAM on a half-closed stream", getRequest(1, sse), rstStream(1, code));
      case 3:
        // Closed: reset twice, then DATA on the reset stream.
        return input(
          "frames on a reset stream",
          getRequest(1, sse),
          rstStream(1, code),
          rstStream(1, code),
          frame(FRAME.DATA, 0, 1, bytes(4)),
        );
      case 4:
        return input("RST_STREAM on stream 0", rstStream(0, code));
      case 5:
        return input(
          "GOAWAY then a new stream",
          getRequest(1, sse),
          goaway(1, code),
          getRequest(3, sse),
        );
      default: {
        // Many streams of the healthy kind, each reset: below the rapid-reset cap.
        const count = int(2, 60);
        return input(
          `${count} streams opened and reset`,
          repeat(count, (i) =>
            Buffer.concat([
              getRequest(2 * i + 1, `/api/stream/${HEALTHY_CHANNEL}`),
              rstStream(2 * i + 1, code),
            ]),
          ),
        );
      }
    }
  };

  return { malformed, streamIds, floods, flowControl, continuation, resets };
}
