import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { CHANNEL_PATTERN, MAX_IDEMPOTENCY_KEY_CHARS } from "../src/shared/protocol.js";
import { BrokerUnavailableError } from "./broker/types.js";
import { findExcessNesting } from "./json-depth.js";

/** An error answered as `{"error": message}` with `status`; thrown by parsers, caught by the router. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Writes `value` as JSON and returns the body's size in bytes. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): number {
  return sendJsonText(res, status, JSON.stringify(value), headers);
}

/** Writes JSON text built by the caller and returns the body's size in bytes. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): number {
  const body = Buffer.from(text);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.length,
    "cache-control": "no-store",
    ...headers,
  });
  res.end(body);
  return body.length;
}

/**
 * The HTTP answer for an error thrown by a handler, when it has one: an
 * HttpError as it is, a broker that cannot serve now as 503 with its reason.
 * Null for anything else (an internal error).
 */
export function asHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof BrokerUnavailableError) {
    return new HttpError(503, `broker unavailable: ${error.message}`, { "retry-after": "1" });
  }
  return null;
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, { error: error.message }, error.headers);
}

export function parseChannel(raw: string | null | undefined, where: string): string {
  if (raw === null || raw === undefined || raw === "") {
    throw new HttpError(400, `${where}: channel is required`);
  }
  if (!CHANNEL_PATTERN.test(raw)) {
    throw new HttpError(
      400,
      `${where}: channel must match ${CHANNEL_PATTERN.source}, found ${JSON.stringify(raw.slice(0, 140))}`,
    );
  }
  return raw;
}

/**
 * A publish's idempotency key (header or WebSocket `key` field): absent is
 * undefined; otherwise 1 to MAX_IDEMPOTENCY_KEY_CHARS printable ASCII characters.
 */
export function parseIdempotencyKey(raw: unknown, where: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (
    typeof raw !== "string" ||
    !/^[\x21-\x7e]+$/.test(raw) ||
    raw.length > MAX_IDEMPOTENCY_KEY_CHARS
  ) {
    throw new HttpError(
      400,
      `${where} must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters without spaces, found ${JSON.stringify(typeof raw === "string" ? raw.slice(0, 40) : typeof raw)}`,
    );
  }
  return raw;
}

/** A cursor: a non-negative integer, or null when absent ("from now"). */
export function parseCursor(raw: string | null | undefined, name: string): number | null {
  if (raw === null || raw === undefined || raw === "") return null;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new HttpError(
      400,
      `${name} must be a non-negative integer message id, found ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return value;
}

const USER_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** The optional `user` query parameter that marks presence. */
export function parseUser(raw: string | null): string | null {
  if (raw === null || raw === "") return null;
  if (!USER_PATTERN.test(raw)) {
    throw new HttpError(
      400,
      `user must match ${USER_PATTERN.source}, found ${JSON.stringify(raw.slice(0, 140))}`,
    );
  }
  return raw;
}

/**
 * Reads a JSON request body of at most `maxBytes`. Over the limit it stops
 * collecting at once (413) instead of buffering whatever the client sends.
 * A body nested deeper than `maxDepth` is refused (400) before it is parsed.
 */
export function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
  maxDepth: number,
): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(413, `request body must be at most ${maxBytes} bytes`, { connection: "close" });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    const onData = (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (receivedBytes > maxBytes) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      try {
        resolve(parseJson(Buffer.concat(chunks, receivedBytes), maxDepth, "request body"));
      } catch (error) {
        reject(error);
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * Parses JSON text that must nest at most `maxDepth` levels; throws an
 * HttpError (400) naming `what` otherwise.
 */
export function parseJson(bytes: Buffer, maxDepth: number, what: string): unknown {
  checkJsonDepth(bytes, maxDepth, what);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `${what} must be JSON: ${(error as Error).message}`);
  }
}

/** Throws an HttpError (400) when `bytes` nest deeper than `maxDepth`. */
export function checkJsonDepth(bytes: Buffer, maxDepth: number, what: string): void {
  const at = findExcessNesting(bytes, maxDepth);
  if (at === -1) return;
  throw new HttpError(
    400,
    `${what} must nest at most ${maxDepth} levels of arrays and objects, found deeper nesting at byte ${at}`,
  );
}

/**
 * After answering early (413), throw away the rest of the request so the
 * client can read the answer before the socket closes; a client that keeps
 * sending past `graceMs` is cut off.
 */
export function discardRequest(req: IncomingMessage, graceMs = 2000): void {
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), graceMs);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  req.socket.once("close", () => clearTimeout(timer));
}

/** Answers an upgrade request with a plain HTTP error, as the JSON error contract asks. */
export function refuseUpgrade(socket: Duplex, error: HttpError): void {
  const body = JSON.stringify({ error: error.message });
  const reason = STATUS_CODES[error.status] ?? "Error";
  let headers = "";
  for (const [name, value] of Object.entries(error.headers)) {
    if (name !== "connection") headers += `${name}: ${value}\r\n`;
  }
  socket.end(
    `HTTP/1.1 ${error.status} ${reason}\r\n` +
      "content-type: application/json; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      headers +
      "connection: close\r\n\r\n" +
      body,
  );
}
