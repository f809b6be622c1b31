import { performance } from "node:perf_hooks";
import { type ErrorEvent, EventSource, type FetchLike } from "eventsource";
import { type Client, fetch } from "undici";
import { SSE_EVENT_GAP, SSE_EVENT_MESSAGE, SSE_EVENT_PRESENCE } from "../shared/protocol.js";
import type { EventStreamDialect } from "./dialect.js";
import { HandlerSink } from "./handler-sink.js";
import { createTrackedClient, originOf } from "./http.js";
import { REFERENCE_SSE } from "./reference-wire.js";
import { refusalWaitMs } from "./retry-after.js";
import type { ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/**
 * SSE through the `eventsource` package (a WHATWG EventSource for Node) over
 * undici fetch: what a browser does, at about three times the memory of the
 * lean client. Its own reconnection is switched off by closing it on the
 * first error: reconnecting with backoff is the load runner's job.
 */
export class EventSourceSseClient implements TransportClient {
  readonly protocol = "sse" as const;
  /** A full server's 503 said to come back after this many ms (TransportClient.retryAfterMs). */
  retryAfterMs: number | undefined;
  // No `lastActivityMs`: heartbeat comments are invisible through the EventSource
  // API, so on a quiet channel a watchdog would call a healthy stream dead.
  // Without it the fleet's watchdog leaves this client alone.

  private readonly options: ClientOptions;
  private readonly handlers: ClientHandlers;
  /** The one connection this EventSource uses; destroying it closes the stream at once. */
  private readonly http: Client;
  private source: EventSource | undefined;
  private ready = false;
  private closed = false;
  /** Where the dialect sends what it read; it keeps the cursor. */
  private readonly sink: HandlerSink;

  constructor(
    options: ClientOptions,
    private readonly dialect: EventStreamDialect = REFERENCE_SSE,
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.sink = new HandlerSink(options.handlers, options.since);
    // No body timeout: a quiet stream is normal, and silence is the load runner's watchdog's call.
    this.http = createTrackedClient(
      options.baseUrl,
      options.context.sockets,
      { headersTimeoutMs: 300_000, bodyTimeoutMs: 0 },
      options.context.tls,
    );
  }

  get cursor(): string | undefined {
    return this.sink.cursor;
  }

  connect(): Promise<void> {
    const { baseUrl, since, context } = this.options;
    const url = `${originOf(baseUrl)}${this.dialect.path(this.options)}`;
    const dispatcher = this.http;
    const startedAt = performance.now();
    const trackedFetch: FetchLike = (input, init) => {
      context.counters.requests++;
      // EventSource sends Last-Event-ID only once it has seen an id; a resume needs it at once.
      const headers =
        since !== undefined && !("Last-Event-ID" in init.headers)
          ? { ...init.headers, "Last-Event-ID": since }
          : init.headers;
      return fetch(input, { ...init, headers, dispatcher }).then((response) => {
        // The EventSource API tells only the status; a full server's wait is in a header.
        this.retryAfterMs = refusalWaitMs(
          response.status,
          response.headers.get("retry-after") ?? undefined,
        );
        return response;
      }) as unknown as ReturnType<FetchLike>;
    };

    return new Promise<void>((resolve, reject) => {
      const source = new EventSource(url, { fetch: trackedFetch });
      this.source = source;
      source.onopen = () => {
        if (this.closed) return;
        this.ready = true;
        this.handlers.onReady(performance.now() - startedAt);
        resolve();
      };
      source.onerror = (event: ErrorEvent) => {
        const reason = event.message ?? `EventSource error${event.code ? ` ${event.code}` : ""}`;
        if (this.ready) {
          this.broke(reason);
          return;
        }
        this.shutdown();
        reject(new Error(`GET ${url}: ${reason}`));
      };
      source.addEventListener(SSE_EVENT_MESSAGE, this.onMessageEvent);
      source.addEventListener(SSE_EVENT_GAP, this.onGapEvent);
      source.addEventListener(SSE_EVENT_PRESENCE, this.onPresenceEvent);
    });
  }

  close(): void {
    if (this.closed) return;
    this.shutdown();
  }

  private readonly onMessageEvent = (event: MessageEvent): void => {
    this.onEvent(SSE_EVENT_MESSAGE, event);
  };

  private readonly onPresenceEvent = (event: MessageEvent): void => {
    this.onEvent(SSE_EVENT_PRESENCE, event);
  };

  private readonly onGapEvent = (event: MessageEvent): void => {
    this.onEvent(SSE_EVENT_GAP, event);
  };

  /** EventTarget listeners must not throw (Node reports it as an uncaught exception). */
  private onEvent(type: string, event: MessageEvent): void {
    try {
      this.dialect.event(type, event.data as string, event.lastEventId, this.sink);
    } catch {
      this.broke(`malformed JSON in an SSE ${type} event`);
    }
  }

  private broke(reason: string): void {
    if (this.closed) return;
    this.shutdown();
    this.handlers.onBreak(reason);
  }

  private shutdown(): void {
    this.closed = true;
    // close() cancels the EventSource's reconnect, except a timer it arms right after
    // dispatching the error; that timer finds the source closed and does nothing.
    this.source?.close();
    this.http.destroy().catch(() => {});
  }
}

export function createEventSourceSseClient(
  options: ClientOptions,
  dialect?: EventStreamDialect,
): TransportClient {
  return new EventSourceSseClient(options, dialect);
}
