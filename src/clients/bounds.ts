/**
 * How much rtbench's clients will buffer from one server answer. A server
 * (a hostile one, or a broken one) decides how long a line or an answer
 * is; without a bound one endless answer takes the generator's memory with
 * it, and every number of the run with that. Each bound is far above what
 * any real-time message needs, so a measured server never meets it; a
 * client that crosses one cuts its connection, and the break (or the
 * failed attempt) carries the reason, in the words of `boundCrossed`.
 */

/** Longest SSE line (one field: `data: ...`), in characters, before the stream is cut. */
export const MAX_SSE_LINE_LENGTH = 16 * 1024 * 1024;
/** Largest SSE event (its `data:` lines joined, before the blank line), in characters. */
export const MAX_SSE_EVENT_LENGTH = 16 * 1024 * 1024;
/**
 * Largest HTTP answer body a client collects (a poll answer, a publish
 * acknowledgement), in bytes: a longer `content-length`, or a chunked or
 * close-delimited body that grows past it, ends the connection.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** Largest WebSocket message, in bytes (a subscriber never needs more). */
export const MAX_WS_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Stable code of the error a crossed bound throws, for callers that branch on it. */
export const BOUND_CROSSED = "RTBENCH_BOUND_CROSSED";

/**
 * The error for a server that sent more than a bound allows: `what` names
 * the thing ("SSE line"), the message gives the bound, so a break reason
 * reads "SSE line longer than 16777216 characters (client bound)".
 */
export function boundCrossed(what: string, limit: number, unit: string): Error {
  const error = new Error(`${what} longer than ${limit} ${unit} (client bound)`);
  (error as Error & { code: string }).code = BOUND_CROSSED;
  return error;
}
