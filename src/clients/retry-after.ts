import { headerValue } from "./http1-parser.js";

/**
 * A server that is full says when to come back: a 503 (or 429) with
 * `Retry-After`, or a WebSocket close with 1013 (Try Again Later). A client
 * that heard it keeps the wait in `retryAfterMs` (TransportClient), and the
 * subscriber waits that long instead of retrying on its backoff, which
 * against a full server only multiplies the refusals.
 */

/** A 1013 close carries no time: the wait a client takes then. */
export const TRY_AGAIN_LATER_DEFAULT_MS = 5_000;
/** The longest wait a server's answer can impose; an hour's Retry-After waits this long. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** WebSocket close code 1013, Try Again Later (RFC 6455 registry). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

const DELAY_SECONDS = /^\d+$/;
/** Every HTTP-date form starts with a day name ("Sun, 06 Nov 1994 08:49:37 GMT"). */
const HTTP_DATE = /^[A-Za-z]{3}/;

/**
 * A `Retry-After` value in ms from now: delay-seconds or an HTTP-date,
 * capped at MAX_RETRY_AFTER_MS; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | undefined,
  nowEpochMs = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let waitMs: number;
  if (DELAY_SECONDS.test(text)) waitMs = Number(text) * 1000;
  else {
    const at = HTTP_DATE.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    waitMs = Math.max(0, at - nowEpochMs);
  }
  return Math.min(waitMs, MAX_RETRY_AFTER_MS);
}

/** 503 Service Unavailable and 429 Too Many Requests: the statuses that may say when to return. */
function asksToWait(status: number | undefined): boolean {
  return status === 503 || status === 429;
}

/**
 * The wait an HTTP refusal asks for: a 503 or 429 with a readable
 * `Retry-After`; undefined for any other answer (the client's backoff then).
 */
export function refusalWaitMs(
  status: number | undefined,
  retryAfter: string | undefined,
): number | undefined {
  return asksToWait(status) ? parseRetryAfter(retryAfter) : undefined;
}

/** `refusalWaitMs` from a raw HTTP/1.1 header block. */
export function refusalWaitFromHead(status: number, head: string): number | undefined {
  return asksToWait(status) ? parseRetryAfter(headerValue(head, "retry-after")) : undefined;
}
