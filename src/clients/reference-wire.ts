import {
  type ClientFrame,
  GAP_HEADER,
  type Gap,
  type Message,
  type PollResponse,
  type ServerFrame,
  SSE_EVENT_GAP,
  SSE_EVENT_MESSAGE,
} from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import type {
  EventStreamDialect,
  PollDialect,
  PollRequest,
  WebSocketDialect,
  WebSocketSink,
} from "./dialect.js";
import { errorText, queryString, routePath } from "./http.js";
import type { ClientOptions } from "./types.js";

/**
 * The reference server's wire format (src/shared/protocol.ts) as dialects of
 * the generic clients: routes from the transport rows, cursors in `since`
 * and Last-Event-ID, messages in `{type: "message", id, body}` frames, SSE
 * `data:` lines and `{messages, cursor}` poll answers.
 */

/** Serialised once: every app-level ping gets the same bytes back. */
const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = JSON.stringify(PONG);

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
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data.toString()) as ServerFrame;
    } catch {
      // A malformed frame is the server's fault: report it as a break, not a crash.
      sink.malformed("malformed JSON frame from the server");
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
        sink.gap(String(frame.from), String(frame.to));
        break;
      default:
        break; // pong, ack, error: nothing for a subscriber to do
    }
  },
};

/** SSE over HTTP/1.1 (`sse`) or HTTP/2 (`sse-h2`): the route of that transport's row. */
export function referenceEventStream(transportName: "sse" | "sse-h2"): EventStreamDialect {
  return {
    path({ baseUrl, channel, user }: ClientOptions): string {
      return `${routePath(baseUrl, transport(transportName).route.path, channel)}?${queryString({ user })}`;
    },

    // A malformed data line throws: the stream breaks the protocol.
    event(type, data, lastEventId, sink): void {
      if (type === SSE_EVENT_MESSAGE) {
        const message = JSON.parse(data) as Message;
        sink.message(lastEventId === "" ? String(message.id) : lastEventId, message.body);
      } else if (type === SSE_EVENT_GAP) {
        const gap = JSON.parse(data) as Gap;
        sink.gap(String(gap.from), String(gap.to));
      }
    },
  };
}

export const REFERENCE_SSE = referenceEventStream("sse");
export const REFERENCE_SSE_H2 = referenceEventStream("sse-h2");

/**
 * Short and long polls on their routes; the first request of both is a
 * short poll, which answers at once with the current cursor.
 */
export const REFERENCE_POLL: PollDialect = {
  first: "short",

  requests(options: ClientOptions) {
    const { channel, user } = options;
    // Route paths under the base URL, looked up once per client rather than per poll.
    const paths = {
      short: routePath(options.baseUrl, transport("short-poll").route.path),
      long: routePath(options.baseUrl, transport("long-poll").route.path),
    };
    return (kind, cursor, timeoutSeconds): PollRequest => ({
      path: `${paths[kind]}?${queryString({ channel, since: cursor, timeout: timeoutSeconds, user })}`,
    });
  },

  answer(status, headers, text, sink) {
    if (status !== 200) {
      throw new Error(`expected status 200, found ${status} (${errorText(text)})`);
    }
    const answer = JSON.parse(text) as PollResponse;
    const gapHeader = headers[GAP_HEADER];
    if (answer.gap) {
      sink.gap(String(answer.gap.from), String(answer.gap.to));
    } else if (typeof gapHeader === "string") {
      const dash = gapHeader.indexOf("-");
      if (dash > 0) sink.gap(gapHeader.slice(0, dash), gapHeader.slice(dash + 1));
    }
    const messages = answer.messages;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (message) sink.message(String(message.id), message.body);
    }
    const cursor =
      answer.cursor !== undefined && answer.cursor !== null ? String(answer.cursor) : undefined;
    return { messages: messages.length, cursor };
  },
};
