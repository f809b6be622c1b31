import {
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { Duplex } from "node:stream";
import type { ServerSettings } from "./context.js";
import { HttpError, sendError } from "./http.js";

/** Idle time of a keep-alive connection between requests (Node's own default, stated). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

/**
 * Bounds on how long a client may take to send a request. Only receiving is
 * timed: an SSE stream or a held long poll is a complete GET whose answer
 * lasts, and is bounded by heartbeats, write timeouts and the poll timeout.
 */
export function httpServerOptions(settings: ServerSettings): ServerOptions {
  return {
    // Headers and body together; the headers alone may take as long.
    requestTimeout: settings.requestTimeoutMs,
    headersTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Node checks the two timeouts above on this period (30 s by default,
    // which would let a stalled request overstay its timeout by up to 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, settings.requestTimeoutMs / 4)),
  };
}

/**
 * `clientError`: malformed HTTP and requests not received in time get the
 * same `{"error": ...}` shape as every other refusal, then the connection
 * closes. A socket that cannot take an answer is destroyed.
 */
export function answerClientError(error: Error, socket: Duplex, settings: ServerSettings): void {
  const code = (error as NodeJS.ErrnoException).code;
  // An answer already under way on this socket: a second status line would corrupt it.
  const current = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (code === "ECONNRESET" || !socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, message] = describe(code, error, settings);
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      "content-type: application/json; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}

/**
 * `checkExpectation`: an `Expect` header other than 100-continue gets 417 in
 * the JSON error shape (Node's own answer has no body).
 */
export function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  const expect = JSON.stringify(String(req.headers.expect).slice(0, 100));
  sendError(
    res,
    new HttpError(417, `unsupported Expect header ${expect}`, { connection: "close" }),
  );
}

function describe(
  code: string | undefined,
  error: Error,
  settings: ServerSettings,
): [number, string] {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    return [408, `the request was not received in full within ${settings.requestTimeoutMs} ms`];
  }
  if (code === "HPE_HEADER_OVERFLOW") {
    return [431, "request headers are too large"];
  }
  // llhttp's reason ("Invalid method encountered"), without Node's "Parse Error: " prefix.
  const reason = (error as Error & { reason?: string }).reason ?? error.message;
  return [400, `malformed HTTP request: ${reason}${code ? ` (${code})` : ""}`];
}
