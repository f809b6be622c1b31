import {
  type ClientFrame,
  GAP_HEADER,
  type Gap,
  type Message,
  type PollResponse,
  type PresenceEvent,
  type ServerFrame,
  SSE_EVENT_GAP,
  SSE_EVENT_MESSAGE,
  SSE_EVENT_PRESENCE,
} from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import type {
  EventStreamDialect,
  PollDialect,
  PollRequest,
  WebSocketDialect,
  WebSocketSink,
  WireSink,
} from "./dialect.js";
import { parseObject } from "./frame.js";
import { errorAnswerText, queryString, routePath } from "./http.js";
import { headerValue } from "./http1-parser.js";
import { emptyAnswerCursor, parsePollAnswer } from "./poll-answer.js";
import type { ClientOptions } from "./types.js";

/**
 * The reference server's wire format (src/shared/protocol.ts) as dialects of
 * the generic clients: routes from the transport rows, cursors in `since`
 * and Last-Event-ID, messages in `{type: "message", id, body}` frames, SSE
 * `data:` lines and `{messages, cursor}` poll answers.
 */

/** Serialised once: every app-level ping gets the same bytes back. */
const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = Buffer.from(JSON.stringify(PONG));

export const REFERENCE_WEBSOCKET: WebSocketDialect = {
  url({ baseUrl, channel, user, since }: ClientOptions): URL {
    const url = new URL(
      `${routePath(baseUrl, transport("websocket").route.path, channel)}?${queryString({ user, since })}`,
      baseUrl,
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url;
  },

  frame(data: Buffer, isBinary: boolean, sink: WebSocketSink): void {
    if (isBinary) return;
    const text = data.toString();
    const frame = parseObject(text) as ServerFrame | null;
    if (frame === null) {
      sink.unrecognised("WebSocket frame that is not a JSON object", text);
      return;
    }
    switch (frame.type) {
      case "message":
        sink.message(String(frame.id), frame.body);
        break;
      case "ping":
        sink.reply(PONG_FRAME);
        break;
      case "gap":
        sink.gap(String(frame.from), String(frame.to), frame.reset === true);
        break;
      case "unread":
        sink.unread?.(frame.count, String(frame.lastId));
        break;
      case "notify":
        sink.announced?.(String(frame.lastId));
        break;
      case "batch":
        readBatch(frame, sink);
        break;
      case "presence":
        sink.presence?.(frame.events);
        break;
      default:
        break; // pong, ack, error: nothing for a subscriber to do
    }
  },

  fetchFrame(since: string): string {
    const fetch: ClientFrame = { type: "fetch", since: Number(since) };
    return JSON.stringify(fetch);
  },
};

/** Read fan-out: the answer to a fetch, shaped as a poll answer. */
function readBatch(batch: PollResponse, sink: WebSocketSink): void {
  if (batch.gap) sink.gap(String(batch.gap.from), String(batch.gap.to), batch.gap.reset === true);
  const messages = Array.isArray(batch.messages) ? batch.messages : [];
  for (const message of messages) {
    if (typeof message === "object" && message !== null) {
      sink.message(String(message.id), message.body);
    } else sink.unrecognised("batch message that is not an object", message);
  }
  const cursor =
    batch.cursor !== undefined && batch.cursor !== null ? String(batch.cursor) : undefined;
  sink.fetched?.(cursor);
}

const UNKNOWN_SSE_EVENT = `SSE event named other than ${SSE_EVENT_MESSAGE}, ${SSE_EVENT_GAP} or ${SSE_EVENT_PRESENCE}`;

/** SSE over HTTP/1.1 (`sse`) or HTTP/2 (`sse-h2`): the route of that transport's row. */
export function referenceEventStream(transportName: "sse" | "sse-h2"): EventStreamDialect {
  return {
    path({ baseUrl, channel, user }: ClientOptions): string {
      return `${routePath(baseUrl, transport(transportName).route.path, channel)}?${queryString({ user })}`;
    },

    // Events of other names, and data that is not a JSON object, are counted and skipped.
    event(type, data, lastEventId, sink): void {
      if (type !== SSE_EVENT_MESSAGE && type !== SSE_EVENT_GAP && type !== SSE_EVENT_PRESENCE) {
        sink.unrecognised(UNKNOWN_SSE_EVENT, `event: ${type}\ndata: ${data}`);
        return;
      }
      const parsed = parseObject(data);
      if (parsed === null) {
        sink.unrecognised(`SSE ${type} event whose data is not a JSON object`, data);
      } else if (type === SSE_EVENT_MESSAGE) {
        const message = parsed as unknown as Message;
        sink.message(lastEventId === "" ? String(message.id) : lastEventId, message.body);
      } else if (type === SSE_EVENT_GAP) {
        const gap = parsed as unknown as Gap;
        sink.gap(String(gap.from), String(gap.to), gap.reset === true);
      } else {
        const frame = parsed as unknown as { events?: PresenceEvent[] };
        if (Array.isArray(frame.events)) sink.presence?.(frame.events);
        else sink.unrecognised("SSE presence event without events", data);
      }
    },
  };
}

export const REFERENCE_SSE = referenceEventStream("sse");
export const REFERENCE_SSE_H2 = referenceEventStream("sse-h2");

/**
 * Short and long polls on their routes; the first request of both is a
 * short poll, which answers at once with the current cursor. Most answers
 * are empty: their cursor is read from the bytes without parsing JSON.
 */
export const REFERENCE_POLL: PollDialect = {
  first: "short",

  requests(options: ClientOptions) {
    // Paths with the channel and user built once per client; a poll adds only its cursor.
    const channelQuery = `?channel=${encodeURIComponent(options.channel)}`;
    const paths = {
      short: routePath(options.baseUrl, transport("short-poll").route.path) + channelQuery,
      long: routePath(options.baseUrl, transport("long-poll").route.path) + channelQuery,
    };
    const userQuery = `&user=${encodeURIComponent(options.user)}`;
    return (kind, cursor, timeoutSeconds): PollRequest => {
      let path = paths[kind];
      if (cursor !== undefined) path += `&since=${encodeURIComponent(cursor)}`;
      if (timeoutSeconds !== undefined) path += `&timeout=${timeoutSeconds}`;
      return { path: path + userQuery };
    };
  },

  answer({ status, head, body }, sink) {
    if (status !== 200) {
      throw new Error(`expected status 200, found ${status} (${errorAnswerText(body.toString())})`);
    }
    const emptyCursor = emptyAnswerCursor(body);
    if (emptyCursor !== null) {
      gapFromHeader(head, sink);
      return { messages: 0, cursor: emptyCursor };
    }
    const answer = parsePollAnswer(body);
    if (answer === null) {
      // Answered, but not with a poll answer: counted, and the next poll goes out as usual.
      sink.unrecognised("poll answer that is not {messages: [...]}", body);
      return { messages: 0, cursor: undefined };
    }
    if (answer.gap)
      sink.gap(String(answer.gap.from), String(answer.gap.to), answer.gap.reset === true);
    else gapFromHeader(head, sink);
    const messages = answer.messages;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (typeof message === "object" && message !== null) {
        sink.message(String(message.id), message.body);
      } else sink.unrecognised("poll answer message that is not an object", message);
    }
    const cursor =
      answer.cursor !== undefined && answer.cursor !== null ? String(answer.cursor) : undefined;
    return { messages: messages.length, cursor };
  },
};

/** A gap said only in the header (`from-to`), by servers that leave it out of the body. */
function gapFromHeader(head: string, sink: WireSink): void {
  const gapHeader = headerValue(head, GAP_HEADER);
  if (gapHeader === undefined) return;
  const dash = gapHeader.indexOf("-");
  if (dash > 0) sink.gap(gapHeader.slice(0, dash), gapHeader.slice(dash + 1));
}
