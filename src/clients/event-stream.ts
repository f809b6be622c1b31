import { monoMs } from "../util/clock.js";
import type { EventStreamDialect } from "./dialect.js";
import { HandlerSink } from "./handler-sink.js";
import { SseParser, type SseParserCallbacks } from "./sse-parser.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/**
 * What every lean `text/event-stream` subscriber does once bytes arrive,
 * whatever carries them (an HTTP/1.1 response, an HTTP/2 stream): parse
 * events, turn messages and gaps into handler calls, remember the cursor and
 * the server's `retry:`, and note activity for the watchdog. Subclasses open
 * and close the stream; the dialect says where, and what the events mean.
 */
export abstract class EventStreamClient implements TransportClient, SseParserCallbacks {
  abstract readonly protocol: string;
  /** The server's `retry:` advice in ms, for the reconnecting wrapper; undefined until sent. */
  retryMs: number | undefined;
  /** A full server's 503 said to come back after this many ms (TransportClient.retryAfterMs). */
  retryAfterMs: number | undefined;
  /** monoMs() of the last bytes received (heartbeat comments included), for a watchdog. */
  lastActivityMs = 0;

  protected readonly options: ClientOptions;
  protected readonly handlers: ClientHandlers;
  protected readonly context: ClientContext;
  protected ready = false;
  protected closed = false;
  private readonly parser: SseParser;
  /** Where the dialect sends what it read; it keeps the cursor. */
  private readonly sink: HandlerSink;

  constructor(
    options: ClientOptions,
    protected readonly dialect: EventStreamDialect,
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.sink = new HandlerSink(options.handlers, options.since);
    this.parser = new SseParser(this);
  }

  get cursor(): string | undefined {
    return this.sink.cursor;
  }

  abstract connect(): Promise<void>;
  abstract close(): void;
  /** Tears the stream down at once (after a break); `close` is the orderly end. */
  protected abstract abort(): void;

  /** The response head was accepted: the stream is ready. */
  protected opened(startedAtMs: number): void {
    this.ready = true;
    this.lastActivityMs = monoMs();
    this.handlers.onReady(this.lastActivityMs - startedAtMs);
  }

  // SseParserCallbacks, called by the parser with this client as the callbacks object.

  onEvent(type: string, data: string, lastEventId: string): void {
    this.dialect.event(type, data, lastEventId, this.sink);
  }

  onRetry(ms: number): void {
    this.retryMs = ms;
  }

  onComment(): void {
    // Heartbeats only refresh lastActivityMs, which onData already did.
  }

  protected readonly onData = (chunk: Buffer): void => {
    this.lastActivityMs = monoMs();
    try {
      this.parser.feed(chunk);
    } catch (error) {
      // A malformed data line is the server's fault: report it as a break, not a crash.
      this.onError(error as Error);
    }
  };

  protected readonly onEnd = (): void => {
    this.broke("stream ended");
  };

  protected readonly onError = (error: Error): void => {
    this.broke(error.message);
  };

  protected broke(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.abort();
    if (this.ready) this.handlers.onBreak(reason);
  }
}

/** Why a response head does not open an event stream; null when it does. */
export function notAnEventStream(status: number | undefined, contentType: string): string | null {
  if (status === 200 && contentType.startsWith("text/event-stream")) return null;
  return `expected 200 text/event-stream, found ${status} ${contentType || "(no content-type)"}`;
}
