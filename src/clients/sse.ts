import { type ClientRequest, request } from "node:http";
import type { Socket } from "node:net";
import { type Gap, type Message, SSE_EVENT_GAP, SSE_EVENT_MESSAGE } from "../shared/protocol.js";
import { monoMs } from "../util/clock.js";
import { originOf, queryString, routePath } from "./http.js";
import { SseParser } from "./sse-parser.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/**
 * A lean SSE subscriber: one node:http request with no agent (its own
 * socket, as an EventSource has), parsed by SseParser. Far less memory per
 * connection than the `eventsource` package, which matters at tens of
 * thousands of clients (design.md, "Scale and clocks").
 */
export class SseClient implements TransportClient {
  readonly protocol = "sse" as const;
  cursor: string | undefined;
  /** The server's `retry:` advice in ms, for the reconnecting wrapper; undefined until sent. */
  retryMs: number | undefined;
  /** monoMs() of the last bytes received (heartbeat comments included), for the fleet's watchdog. */
  lastActivityMs = 0;

  private readonly options: ClientOptions;
  private readonly handlers: ClientHandlers;
  private readonly context: ClientContext;
  private readonly parser: SseParser;
  private req: ClientRequest | undefined;
  private ready = false;
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.parser = new SseParser(this);
  }

  connect(): Promise<void> {
    const { baseUrl, channel, user, since } = this.options;
    const url = new URL(
      `${routePath(baseUrl, "sse", channel)}?${queryString({ user })}`,
      originOf(baseUrl),
    );
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      "cache-control": "no-cache",
    };
    if (since !== undefined) headers["last-event-id"] = since;
    const startedAt = monoMs();
    this.context.counters.requests++;

    return new Promise<void>((resolve, reject) => {
      const req = request(url, { agent: false, headers });
      this.req = req;
      req.once("socket", (socket: Socket) => this.context.sockets.track(socket));
      // A server that accepts TCP but never answers (stalled) must not hang an attempt.
      const answerTimer = setTimeout(() => {
        req.destroy(
          new Error(`GET ${url.pathname}: no response within ${this.options.requestTimeoutMs} ms`),
        );
      }, this.options.requestTimeoutMs);
      req.once("close", () => clearTimeout(answerTimer));
      req.once("response", (res) => {
        clearTimeout(answerTimer);
        const type = res.headers["content-type"] ?? "";
        if (res.statusCode !== 200 || !type.startsWith("text/event-stream")) {
          res.resume();
          req.destroy();
          this.closed = true;
          reject(
            new Error(
              `GET ${url.pathname}: expected 200 text/event-stream, found ${res.statusCode} ${type || "(no content-type)"}`,
            ),
          );
          return;
        }
        if (this.closed) {
          req.destroy();
          resolve();
          return;
        }
        this.ready = true;
        this.lastActivityMs = monoMs();
        this.handlers.onReady(this.lastActivityMs - startedAt);
        res.on("data", this.onData);
        res.once("end", this.onEnd);
        res.once("error", this.onError);
        resolve();
      });
      req.once("error", (error) => {
        if (this.ready) this.onError(error);
        else {
          this.closed = true;
          reject(error);
        }
      });
      req.once("close", this.onEnd);
      req.end();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.req?.destroy();
  }

  // SseParserCallbacks, called by the parser with this client as the callbacks object.

  onEvent(type: string, data: string, lastEventId: string): void {
    if (type === SSE_EVENT_MESSAGE) {
      const message = JSON.parse(data) as Message;
      this.cursor = lastEventId === "" ? String(message.id) : lastEventId;
      this.handlers.onMessage(this.cursor, message.body);
    } else if (type === SSE_EVENT_GAP) {
      const gap = JSON.parse(data) as Gap;
      this.handlers.onGap(String(gap.from), String(gap.to));
    }
  }

  onRetry(ms: number): void {
    this.retryMs = ms;
  }

  onComment(): void {
    // Heartbeats only refresh lastActivityMs, which onData already did.
  }

  private readonly onData = (chunk: Buffer): void => {
    this.lastActivityMs = monoMs();
    try {
      this.parser.feed(chunk);
    } catch (error) {
      // A malformed data line is the server's fault: report it as a break, not a crash.
      this.onError(error as Error);
    }
  };

  private readonly onEnd = (): void => {
    this.broke("stream ended");
  };

  private readonly onError = (error: Error): void => {
    this.broke(error.message);
  };

  private broke(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.req?.destroy();
    if (this.ready) this.handlers.onBreak(reason);
  }
}

export function createSseClient(options: ClientOptions): TransportClient {
  return new SseClient(options);
}
