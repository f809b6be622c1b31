// How a request that failed is answered: an HttpError with its status and
// headers, anything else a 500 (and a line on stderr), as JSON; over
// HTTP/1.1 (answerError) or on an HTTP/2 stream (answerStreamError), where
// HTTP/1.1-only headers must be left out. A client that went away gets
// nothing.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import { asHttpError, discardRequest, HttpError, sendError } from "./http.js";

export function answerError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const known = asHttpError(error);
  if (known) {
    sendError(res, known);
    // The client may still be sending the body we refused; throw it away, don't store it.
    if (known.status === 413) discardRequest(req);
    return;
  }
  // The client went away or was cut off mid-request: nobody to answer, nothing to report.
  if (req.destroyed && !res.headersSent) return;
  process.stderr.write(`reference server: ${req.method} ${req.url}: ${String(error)}\n`);
  sendError(
    res,
    new HttpError(500, `internal error: ${(error as Error)?.message ?? String(error)}`),
  );
}

export function answerStreamError(stream: ServerHttp2Stream, error: unknown): void {
  const known = asHttpError(error);
  const status = known ? known.status : 500;
  if (!known) {
    process.stderr.write(`reference server: HTTP/2 stream: ${String(error)}\n`);
  }
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close();
    return;
  }
  const message = known
    ? known.message
    : `internal error: ${(error as Error)?.message ?? String(error)}`;
  const body = JSON.stringify({ error: message });
  stream.respond({
    ...h2Headers(known?.headers),
    ":status": status,
    "content-type": "application/json; charset=utf-8",
  });
  stream.end(body);
}

/** HTTP/1.1-only headers HTTP/2 forbids (RFC 9113 8.2.2); Node refuses a response carrying them. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** An error's headers (a 503's `retry-after`) as an HTTP/2 answer may carry them. */
function h2Headers(headers: Record<string, string> | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name in headers) {
    if (!CONNECTION_HEADERS.has(name)) kept[name] = headers[name] as string;
  }
  return kept;
}
