// What a WebSocket client may send, and what is wrong with a frame it should
// not have sent: JSON text objects with a `type` (publish, fetch, ping, pong),
// each field checked here. A bad frame is a FrameError carrying the RFC 6455
// close code the session closes with (websocket-session.ts) after saying why.
import type { RawData } from "ws";
import { checkJsonDepth, parseIdempotencyKey } from "../http.js";

/** RFC 6455 close codes used here. */
export const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;

/** Close reasons are limited to 123 bytes; the error frame before the close carries the full text. */
export const CLOSE_REASONS: Record<number, string> = {
  [CLOSE_UNSUPPORTED_DATA]: "unsupported data",
  [CLOSE_POLICY_VIOLATION]: "policy violation",
  [CLOSE_TOO_BIG]: "message too big",
  [CLOSE_INTERNAL_ERROR]: "internal error",
};

/** A frame the server does not take: the session sends `message` and closes with `code`. */
export class FrameError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

/** The frame as a JSON object, its `type` not yet looked at. */
export function readClientFrame(
  data: RawData,
  isBinary: boolean,
  maxDepth: number,
): Record<string, unknown> {
  if (isBinary) {
    throw new FrameError(
      CLOSE_UNSUPPORTED_DATA,
      "binary frames are not supported; send JSON text frames",
    );
  }
  const bytes = asBuffer(data);
  let frame: unknown;
  try {
    checkJsonDepth(bytes, maxDepth, "frames");
  } catch (error) {
    // Nesting is a size, as far as what the server will store goes.
    throw new FrameError(CLOSE_TOO_BIG, (error as Error).message);
  }
  try {
    frame = JSON.parse(bytes.toString());
  } catch (error) {
    throw new FrameError(
      CLOSE_UNSUPPORTED_DATA,
      `frames must be JSON: ${(error as Error).message}`,
    );
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    throw new FrameError(CLOSE_UNSUPPORTED_DATA, 'frames must be JSON objects with a "type"');
  }
  return frame as Record<string, unknown>;
}

export function unknownFrameType(type: unknown): FrameError {
  return new FrameError(
    CLOSE_UNSUPPORTED_DATA,
    `unknown frame type ${JSON.stringify(type) ?? "(missing)"}; expected one of publish, fetch, ping, pong`,
  );
}

/** `{"type":"fetch","since":N}`: N, a message id. */
export function fetchSince(fields: Record<string, unknown>): number {
  const since = fields.since;
  if (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0) {
    throw new FrameError(
      CLOSE_POLICY_VIOLATION,
      `fetch "since" must be a non-negative integer message id, found ${JSON.stringify(since) ?? "nothing"}`,
    );
  }
  return since;
}

/** A publish frame's `ref` (echoed in its ack), after checking it has a `body`. */
export function publishRef(fields: Record<string, unknown>): string | number | null {
  const ref = fields.ref ?? null;
  if (ref !== null && typeof ref !== "string" && typeof ref !== "number") {
    throw new FrameError(
      CLOSE_POLICY_VIOLATION,
      `publish "ref" must be a string or a number, found ${typeof ref}`,
    );
  }
  if (!("body" in fields)) {
    throw new FrameError(CLOSE_POLICY_VIOLATION, 'publish frames need a "body"');
  }
  return ref;
}

/** A publish frame's idempotency `key`, if it has one. */
export function publishKey(fields: Record<string, unknown>): string | undefined {
  try {
    return parseIdempotencyKey(fields.key, 'publish "key"');
  } catch (error) {
    throw new FrameError(CLOSE_POLICY_VIOLATION, (error as Error).message);
  }
}

/** An `{"type":"error",...}` frame, with the publish's `ref` when it answers one. */
export function errorFrame(error: string, ref?: string | number | null): Buffer {
  return Buffer.from(
    JSON.stringify(ref === undefined ? { type: "error", error } : { type: "error", ref, error }),
  );
}

/** ws hands text frames over as one Buffer; fragments and ArrayBuffers are joined or wrapped. */
function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
