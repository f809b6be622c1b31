import type { ServerResponse } from "node:http";
import { GAP_HEADER, type Gap } from "../../src/shared/protocol.js";
import type { HistoryRead } from "../broker/types.js";
import type { LiveConnection, ServerContext } from "../context.js";
import { readAfter } from "../history.js";
import { parseChannel, parseCursor, parseUser, sendJsonText } from "../http.js";
import { guardAnswer } from "../write-guard.js";
import type { MountedTransport } from "./types.js";

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
  const user = parseUser(query.get("user"));
  ctx.admission.admitSubscriber();
  ctx.touchPresence(channel, user);
  const token = new InFlightPoll();
  const inFlight = ctx.connectionsOf("short-poll");
  inFlight.add(token);
  try {
    if (since === null) {
      // No cursor means "from now": nothing yet, and the cursor to continue from.
      const { lastId } = await ctx.broker.read(channel, 0, 1);
      sendPoll(ctx, res, "short-poll", { jsons: [], cursor: lastId });
      return;
    }
    sendPoll(ctx, res, "short-poll", pollResponse(since, await readPollPage(ctx, channel, since)));
  } finally {
    inFlight.delete(token);
  }
}

/**
 * The history after `since` that one poll answer carries: capped in messages
 * and bytes, so that no answer is larger than the client can be trusted with;
 * a client further behind comes back with the new cursor.
 */
export function readPollPage(
  ctx: ServerContext,
  channel: string,
  since: number,
): Promise<HistoryRead> {
  return readAfter(
    ctx.broker,
    channel,
    since,
    ctx.settings.maxPollBatch,
    ctx.settings.maxPollBytes,
  );
}

/** A poll answer (`PollResponse` on the wire) with its messages still as JSON text. */
export interface PollAnswer {
  jsons: string[];
  cursor: number;
  gap?: Gap;
}

/**
 * The poll answer for a history read after `since`. The cursor is the last id
 * delivered; past a gap with nothing retained it moves to the gap's end, so
 * the client is told about the gap once, not on every poll.
 */
export function pollResponse(since: number, read: HistoryRead): PollAnswer {
  const last = read.messages.at(-1);
  // After a reset the client's cursor means nothing here: it continues from this history's end.
  const past = read.gap?.reset ? read.lastId : read.gap ? Math.max(since, read.gap.to) : since;
  const cursor = last ? last.id : past;
  return read.gap ? { jsons: read.jsons, cursor, gap: read.gap } : { jsons: read.jsons, cursor };
}

/** `{"messages": [...], "cursor": N, "gap"?: {...}}`, splicing in the messages' JSON. */
export function pollAnswerJson({ jsons, cursor, gap }: PollAnswer): string {
  const reset = gap?.reset ? ',"reset":true' : "";
  const gapField = gap ? `,"gap":{"from":${gap.from},"to":${gap.to}${reset}}` : "";
  return `{"messages":[${jsons.join(",")}],"cursor":${cursor}${gapField}}`;
}

/** Writes the poll answer (pollAnswerJson) with the gap in a header too. */
export function sendPoll(
  ctx: ServerContext,
  res: ServerResponse,
  transport: string,
  answer: PollAnswer,
): void {
  const { jsons, gap } = answer;
  const text = pollAnswerJson(answer);
  const headers: Record<string, string> = gap ? { [GAP_HEADER]: `${gap.from}-${gap.to}` } : {};
  const bytes = sendJsonText(res, 200, text, headers);
  // A client that does not read its answer loses the connection, not the server its memory.
  guardAnswer(res, ctx.settings.writeTimeoutMs);
  ctx.metrics.countOut(transport, jsons.length, bytes);
}
