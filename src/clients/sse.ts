import type { Socket } from "node:net";
import { monoMs } from "../util/clock.js";
import type { EventStreamDialect } from "./dialect.js";
import { EventStreamClient, notAnEventStream } from "./event-stream.js";
import { originOf } from "./http.js";
import { Http1ResponseReader, type HttpResponseHandler, headerValue } from "./http1-parser.js";
import { connectTcp, getRequestHead, httpTarget } from "./lean-http.js";
import { REFERENCE_SSE } from "./reference-wire.js";
import { refusalWaitFromHead } from "./retry-after.js";
import type { ClientOptions, TransportClient } from "./types.js";

/** What an EventSource sends with its GET (plus `last-event-id` when resuming). */
const STREAM_HEADERS: Readonly<Record<string, string>> = {
  accept: "text/event-stream",
  "cache-control": "no-cache",
};

/**
 * A lean SSE subscriber: one GET on a TCP connection of its own (as an
 * EventSource has), written from a template and read by the lean HTTP/1.1
 * reader with the body streamed to SseParser: no http.ClientRequest,
 * IncomingMessage or stream objects per connection, which matters for memory
 * and connect cost at tens of thousands of clients.
 */
export class SseClient extends EventStreamClient implements HttpResponseHandler {
  readonly protocol = "sse";
  private socket: Socket | undefined;
  private readonly reader = new Http1ResponseReader(this);
  private answerTimer: NodeJS.Timeout | undefined;
  private socketError: Error | undefined;
  private path = "";
  private startedAtMs = 0;
  /** The pending connect(), until the response head settles it. */
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: ClientOptions, dialect: EventStreamDialect = REFERENCE_SSE) {
    super(options, dialect);
  }

  connect(): Promise<void> {
    const { baseUrl, since, source, requestTimeoutMs } = this.options;
    const url = new URL(this.dialect.path(this.options), originOf(baseUrl));
    this.path = url.pathname;
    const target = httpTarget(url.origin, source, this.context, this.options.network);
    let headers: Readonly<Record<string, string>> = STREAM_HEADERS;
    if (since !== undefined) {
      // The cursor came from the server; a line break in it would forge headers.
      if (/[\r\n]/.test(since))
        return Promise.reject(new Error("a Last-Event-ID with a line break"));
      headers = { ...STREAM_HEADERS, "last-event-id": since };
    }
    const head = getRequestHead(target, `${url.pathname}${url.search}`, headers);
    this.startedAtMs = monoMs();
    this.context.counters.requests++;
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      const socket = connectTcp(target);
      this.socket = socket;
      this.context.sockets.adopt(socket);
      this.reader.streamBody = true;
      socket.on("data", this.onSocketData);
      socket.on("error", (error) => {
        // "close" follows; keep the reason for what it reports.
        this.socketError = error;
      });
      socket.once("close", () => this.onSocketClose(socket));
      // A server that accepts TCP but never answers (stalled) must not hang an attempt.
      this.answerTimer = setTimeout(() => {
        this.failConnect(new Error(`GET ${this.path}: no response within ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      socket.write(head, "latin1");
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
  }

  protected abort(): void {
    this.socket?.destroy();
  }

  // HttpResponseHandler, called by the reader.

  onStreamHead(status: number, head: string): void {
    // An interim 1xx answer: the real one follows.
    if (status < 200) {
      this.reader.streamBody = true;
      return;
    }
    const settle = this.settle;
    if (settle === undefined) return;
    this.settle = undefined;
    clearTimeout(this.answerTimer);
    const problem = notAnEventStream(status, headerValue(head, "content-type") ?? "");
    if (problem !== null) {
      this.retryAfterMs = refusalWaitFromHead(status, head);
      this.closed = true;
      this.socket?.destroy();
      settle.reject(new Error(`GET ${this.path}: ${problem}`));
      return;
    }
    if (this.closed) {
      this.socket?.destroy();
      settle.resolve();
      return;
    }
    this.opened(this.startedAtMs);
    settle.resolve();
  }

  onBodyChunk(chunk: Buffer): void {
    this.onData(chunk);
  }

  /** The streamed answer ended: the server closed the stream. */
  onAnswer(): void {
    this.onEnd();
  }

  private readonly onSocketData = (chunk: Buffer): void => {
    try {
      this.reader.feed(chunk);
    } catch (error) {
      // Not HTTP, or broken framing: the server's fault, reported as a failure or a break.
      if (this.settle !== undefined) this.failConnect(error as Error);
      else this.onError(error as Error);
    }
  };

  private onSocketClose(socket: Socket): void {
    this.context.sockets.release(socket);
    clearTimeout(this.answerTimer);
    if (this.settle !== undefined) {
      this.failConnect(
        this.socketError ?? new Error(`GET ${this.path}: connection closed before the response`),
      );
      return;
    }
    // A body delimited by the close ends here; the stream is over either way.
    this.reader.end();
    if (this.socketError !== undefined) this.onError(this.socketError);
    else this.onEnd();
  }

  private failConnect(error: Error): void {
    const settle = this.settle;
    if (settle === undefined) return;
    this.settle = undefined;
    clearTimeout(this.answerTimer);
    this.closed = true;
    this.socket?.destroy();
    settle.reject(error);
  }
}

export function createSseClient(
  options: ClientOptions,
  dialect?: EventStreamDialect,
): TransportClient {
  return new SseClient(options, dialect);
}
