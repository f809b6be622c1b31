import type { PresenceEvent } from "../shared/protocol.js";
import type { HttpAnswer } from "./http1-parser.js";
import type { ClientOptions } from "./types.js";

/**
 * What a generic client needs to know about a server's wire format: where to
 * connect and how to resume, and where the published body and the cursor sit
 * in what arrives. The clients keep the transport's mechanics (sockets,
 * timeouts, parsing SSE, scheduling polls); a dialect keeps the server's
 * conventions. The reference server's dialects are in reference-wire.ts;
 * other servers' are built from a target protocol (src/targets/).
 *
 * A dialect is built once per process and shared by its clients: it holds no
 * per-connection state, and reading a message allocates nothing it need not.
 */

/** Where a dialect sends what it read: the client itself. */
export interface WireSink {
  /** A message: the server's cursor for it (opaque) and the publisher's body. */
  message(id: string, body: unknown): void;
  /**
   * The server said ids `from`..`to` are gone. `reset`: the cursor was not
   * from the server's history (another instance's); ids start again.
   */
  gap(from: string, to: string, reset?: boolean): void;
  /** Tiered fan-out: a returning member missed `count` messages, up to id `lastId`. */
  unread?(count: number, lastId: string): void;
  /** Join and leave events on the channel (server.presenceEvents). */
  presence?(events: readonly PresenceEvent[]): void;
  /**
   * Something the target protocol has no place for: ignored, counted. `what`
   * says which; `frame` is what arrived (text, bytes or the parsed item), so a
   * run that recognises nothing can show the first one.
   */
  unrecognised(what?: string, frame?: unknown): void;
}

export interface WebSocketSink extends WireSink {
  /** Sends a text frame back (an application-level pong). */
  reply(text: string | Buffer): void;
  /** The frame breaks the protocol: the connection is treated as broken. */
  malformed(reason: string): void;
  /** Read fan-out: the server holds messages up to `lastId`; the client fetches what it has not read. */
  announced?(lastId: string): void;
  /** The answer to a fetch ended (its messages went to `message`); `cursor`: where to fetch from next. */
  fetched?(cursor: string | undefined): void;
}

export interface WebSocketDialect {
  /** The ws:// URL of one connection; resumes after `options.since` when set. */
  url(options: ClientOptions): URL;
  /** Subprotocols offered in the handshake (none when undefined). */
  readonly subprotocols?: string[];
  /** A frame sent once the socket is open, for servers that subscribe by message. */
  subscribeFrame?(options: ClientOptions): string | undefined;
  /** One frame from the server. */
  frame(data: Buffer, isBinary: boolean, sink: WebSocketSink): void;
  /** Read fan-out: the frame asking for the messages after `since` (none: the server has no fetch). */
  fetchFrame?(since: string): string;
}

export interface EventStreamDialect {
  /** Path and query of the stream under the base URL (resume is by Last-Event-ID). */
  path(options: ClientOptions): string;
  /**
   * One parsed event. Throwing means the stream breaks the protocol (the
   * connection is treated as broken); a dialect that tolerates strangers
   * reports them as unrecognised instead.
   */
  event(type: string, data: string, lastEventId: string, sink: WireSink): void;
}

/** One poll to send. */
export interface PollRequest {
  path: string;
  headers?: Record<string, string>;
}

/**
 * Builds a poll: short or long, after `cursor` (undefined: from now), held up
 * to `timeoutSeconds`. A function of these three only: the client sends the
 * bytes of an unchanged request again without asking (poll-base.ts).
 */
export type PollRequests = (
  kind: "short" | "long",
  cursor: string | undefined,
  timeoutSeconds: string | undefined,
) => PollRequest;

/** What one poll answer said. */
export interface PollAnswer {
  /** Messages delivered to the sink (0: an empty answer). */
  messages: number;
  /** The cursor to send next; undefined keeps the current one. */
  cursor: string | undefined;
}

export interface PollDialect {
  /**
   * The first request of a connection. `short` answers at once (with the
   * current cursor), so the first answer makes the client ready; `long` is
   * held by the server until a message exists, so the client is ready once
   * its connection is up and the request is on its way.
   */
  readonly first: "short" | "long";
  /** One client's requests, with what it can work out once (its paths) worked out. */
  requests(options: ClientOptions): PollRequests;
  /**
   * Reads one answer (status, header block, body bytes: read headers with
   * `headerValue`) into the sink; throws for an answer that is an error.
   */
  answer(answer: HttpAnswer, sink: WireSink): PollAnswer;
}

/** One dialect of each part of a server's wire (`WireKind` on a transport's row). */
export interface WireDialects {
  websocket: WebSocketDialect;
  "event-stream": EventStreamDialect;
  poll: PollDialect;
}

/** What a client is built with: the dialect of the part it reads; none means the reference's. */
export type ClientWire = Partial<WireDialects>;
