import type {
  EventStreamDialect,
  PollDialect,
  WebSocketDialect,
  WebSocketSink,
  WireSink,
} from "../clients/dialect.js";
import { errorAnswerText } from "../clients/http.js";
import { headerValue } from "../clients/http1-parser.js";
import { compilePointer, type Pointer, readPointer } from "./json-pointer.js";
import type { TargetWire } from "./types.js";
import { PathTemplate, parseJsonOrUndefined, webSocketUrl } from "./wire.js";

/**
 * Nchan's subscriber wire, as its documentation describes it. Message ids
 * are `<seconds>:<tag>` (`1795802681:0`); a subscriber resumes with
 * Last-Event-ID (EventSource), `last_event_id=` in the URL (WebSocket, whose
 * `ws+meta.nchan` subprotocol puts an `id:` line before each message), or
 * the `If-Modified-Since`/`If-None-Match` pair that long-poll answers give as
 * `Last-Modified`/`Etag`. Nchan passes the published body through untouched.
 */

/** The subprotocol that makes Nchan prefix each WebSocket message with its id. */
export const NCHAN_META_SUBPROTOCOL = "ws+meta.nchan";

function deliver(text: string, id: string, body: Pointer, sink: WireSink): boolean {
  const document = parseJsonOrUndefined(text);
  const value = document === undefined ? undefined : readPointer(document, body);
  if (value === undefined) {
    sink.unrecognised(document === undefined ? "not JSON" : "nothing at message.body", text);
    return false;
  }
  sink.message(id, value);
  return true;
}

function bodyPointer(wire: TargetWire): Pointer {
  return compilePointer(wire.message?.body ?? "");
}

export function nchanWebSocket(wire: TargetWire): WebSocketDialect {
  const path = new PathTemplate(wire.websocket?.path ?? "");
  const body = bodyPointer(wire);
  return {
    subprotocols: [NCHAN_META_SUBPROTOCOL],
    url(options): URL {
      const { baseUrl, channel, user, since } = options;
      let url = path.fill(baseUrl, { channel, user });
      if (since)
        url += `${url.includes("?") ? "&" : "?"}last_event_id=${encodeURIComponent(since)}`;
      return webSocketUrl(baseUrl, url);
    },
    frame(data: Buffer, isBinary: boolean, sink: WebSocketSink): void {
      const text = isBinary ? "" : data.toString();
      // "id: <id>\n[content-type: <type>\n]\n<message>"
      const end = text.indexOf("\n\n");
      if (!text.startsWith("id: ") || end < 0) {
        sink.unrecognised("WebSocket frame without Nchan's id: header", isBinary ? data : text);
        return;
      }
      const idEnd = text.indexOf("\n");
      deliver(text.slice(end + 2), text.slice(4, idEnd), body, sink);
    },
  };
}

export function nchanEventStream(wire: TargetWire): EventStreamDialect {
  const path = new PathTemplate(wire.sse?.path ?? "");
  const body = bodyPointer(wire);
  return {
    path: ({ baseUrl, channel, user }) => path.fill(baseUrl, { channel, user }),
    event(type, data, lastEventId, sink): void {
      // Nchan's pings arrive as `event: ping`; messages carry no event name.
      if (type !== "message") return;
      deliver(data, lastEventId, body, sink);
    },
  };
}

/** `1795802681:0` from a long-poll answer's Last-Modified and Etag; "" when either is missing. */
export function messageIdOf(lastModified: string | undefined, etag: string | undefined): string {
  if (lastModified === undefined || etag === undefined) return "";
  const seconds = Date.parse(lastModified) / 1000;
  const tag = etag.replace(/^W\//, "").replaceAll('"', "");
  return Number.isFinite(seconds) ? `${seconds}:${tag}` : "";
}

/** The request headers that resume after a message id (`1795802681:0`). */
export function resumeHeaders(id: string | undefined): Record<string, string> | undefined {
  if (!id) return undefined;
  const colon = id.indexOf(":");
  const seconds = Number(id.slice(0, colon));
  if (colon < 0 || !Number.isFinite(seconds)) return undefined;
  return {
    "if-modified-since": new Date(seconds * 1000).toUTCString(),
    "if-none-match": id.slice(colon + 1),
  };
}

/**
 * Long polls answer one message each; the client asks again at once with
 * the answer's id. Nchan holds the first request too (it has no short poll
 * answering with the current position), so a client is ready once connected.
 */
export function nchanPoll(wire: TargetWire): PollDialect {
  const path = new PathTemplate(wire.longPoll?.path ?? "");
  const body = bodyPointer(wire);
  return {
    first: "long",
    requests({ baseUrl, channel, user }) {
      const filled = path.fill(baseUrl, { channel, user });
      return (_kind, cursor) => ({ path: filled, headers: resumeHeaders(cursor) });
    },
    answer({ status, head, body: bytes }, sink) {
      const text = bytes.toString();
      // 304: nothing newer (an interval poll); 408: the hold timed out (nchan_subscriber_timeout).
      if (status === 304 || status === 408) return { messages: 0, cursor: undefined };
      if (status !== 200) {
        throw new Error(
          `expected status 200, 304 or 408, found ${status} (${errorAnswerText(text)})`,
        );
      }
      const id = messageIdOf(headerValue(head, "last-modified"), headerValue(head, "etag"));
      const delivered = deliver(text, id, body, sink);
      return { messages: delivered ? 1 : 0, cursor: id === "" ? undefined : id };
    },
  };
}
