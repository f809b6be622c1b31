import type { ServerResponse } from "node:http";
import { GAP_HEADER, type PollResponse } from "../../src/shared/protocol.js";
import type { HistoryRead } from "../broker/types.js";
import type { LiveConnection, ServerContext } from "../context.js";
import { readAfter } from "../history.js";
import { parseChannel, parseCursor, parseUser, sendJson } from "../http.js";
import type { MountedTransport } from "./types.js";

/** Messages per poll answer; a client further behind comes back with the new cursor. */
export const POLL_PAGE_LIMIT = 1000;

/** Short polls hold nothing between requests; the gauge counts requests in flight. */
class InFlightPoll implements LiveConnection {
  heartbeat(): void {}
  shutdown(): void {}
  /** The request's socket is in `ctx.pollSockets`; a drop destroys that instead. */
  drop(): void {}
}

export function mountShortPoll(ctx: ServerContext): MountedTransport {
  return { request: (_req, res, route) => handleShortPoll(ctx, res, route.url.searchParams) };
}

/** `GET /api/messages?channel=C&since=ID`: answers at once. */
async function handleShortPoll(
  ctx: ServerContext,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const channel = parseChannel(query.get("channel"), "query");
  const since = parseCursor(query.get("since"), "since");
  ctx.touchPresence(channel, parseUser(query.get("user")));
  const token = new InFlightPoll();
  const inFlight = ctx.connectionsOf("short-poll");
  inFlight.add(token);
  try {
    if (since === null) {
      // No cursor means "from now": nothing yet, and the cursor to continue from.
      const { lastId } = await ctx.broker.read(channel, 0, 1);
      sendPoll(ctx, res, "short-poll", { messages: [], cursor: lastId });
      return;
    }
    const read = await readAfter(ctx.broker, channel, since, POLL_PAGE_LIMIT);
    sendPoll(ctx, res, "short-poll", pollResponse(since, read));
  } finally {
    inFlight.delete(token);
  }
}

/**
 * The poll answer for a history read after `since`. The cursor is the last id
 * delivered; past a gap with nothing retained it moves to the gap's end, so
 * the client is told about the gap once, not on every poll.
 */
export function pollResponse(since: number, read: HistoryRead): PollResponse {
  const last = read.messages.at(-1);
  // After a reset the client's cursor means nothing here: it continues from this history's end.
  const past = read.gap?.reset ? read.lastId : read.gap ? Math.max(since, read.gap.to) : since;
  const cursor = last ? last.id : past;
  return read.gap
    ? { messages: read.messages, cursor, gap: read.gap }
    : { messages: read.messages, cursor };
}

export function sendPoll(
  ctx: ServerContext,
  res: ServerResponse,
  transport: string,
  answer: PollResponse,
): void {
  const headers: Record<string, string> = answer.gap
    ? { [GAP_HEADER]: `${answer.gap.from}-${answer.gap.to}` }
    : {};
  const bytes = sendJson(res, 200, answer, headers);
  ctx.metrics.countOut(transport, answer.messages.length, bytes);
}
