import type { EventStreamDialect, PollDialect, WebSocketDialect } from "../clients/dialect.js";
import { REFERENCE_POLL, REFERENCE_SSE, REFERENCE_WEBSOCKET } from "../clients/reference-wire.js";
import type { TargetWire } from "./types.js";
import { PathTemplate, webSocketUrl } from "./wire.js";

/**
 * Pushpin's subscriber side. Pushpin delivers what a publisher put in each
 * item's formats, byte for byte, and rtbench's pushpin publisher writes them
 * in the reference wire's shapes (pushpin-publisher.ts): a long-poll answer
 * `{"messages":[{id, body}], "cursor"}`, an SSE `event: message` with its
 * `id:` line, a WebSocket frame `{"type":"message", id, body}`. So reading
 * is the reference wire's; what is Pushpin's here is where to connect and
 * how to resume (`since=` for polls and WebSockets, Last-Event-ID for SSE),
 * which the GRIP origin behind Pushpin answers from its history.
 */

/** Appends a query field to a path that may already have a query. */
function withQuery(path: string, name: string, value: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(value)}`;
}

export function pushpinWebSocket(wire: TargetWire): WebSocketDialect {
  const path = new PathTemplate(wire.websocket?.path ?? "");
  return {
    url({ baseUrl, channel, user, since }) {
      const filled = path.fill(baseUrl, { channel, user });
      return webSocketUrl(baseUrl, since ? withQuery(filled, "since", since) : filled);
    },
    frame: REFERENCE_WEBSOCKET.frame,
  };
}

export function pushpinEventStream(wire: TargetWire): EventStreamDialect {
  const path = new PathTemplate(wire.sse?.path ?? "");
  return {
    path: ({ baseUrl, channel, user }) => path.fill(baseUrl, { channel, user }),
    event: REFERENCE_SSE.event,
  };
}

/**
 * The first poll has no cursor: the origin answers at once with the current
 * one, so a client is ready without waiting out a hold. Every later poll is
 * held by Pushpin until a message after its cursor is published, or the
 * hold times out (an empty answer with the same cursor).
 */
export function pushpinPoll(wire: TargetWire): PollDialect {
  const path = new PathTemplate(wire.longPoll?.path ?? "");
  return {
    first: "short",
    requests({ baseUrl, channel, user }) {
      const filled = path.fill(baseUrl, { channel, user });
      return (_kind, cursor, timeoutSeconds) => {
        if (cursor === undefined) return { path: filled };
        const since = withQuery(filled, "since", cursor);
        return { path: timeoutSeconds ? withQuery(since, "timeout", timeoutSeconds) : since };
      };
    },
    answer: REFERENCE_POLL.answer,
  };
}
