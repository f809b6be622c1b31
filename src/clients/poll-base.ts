import { performance } from "node:perf_hooks";
import { GAP_HEADER } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { errorText, routePath } from "./http.js";
import { type HttpAnswer, headerValue } from "./http1-parser.js";
import { HttpConnection, type HttpExchangeHandler, httpTarget } from "./lean-http.js";
import { emptyAnswerCursor, parsePollAnswer } from "./poll-answer.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/** Which poll route a request goes to: the first request of both is a short poll. */
type PollRoute = "short-poll" | "long-poll";

/**
 * What short and long polling share: one keep-alive connection (the lean
 * HTTP/1.1 client, lean-http.ts), one request in flight, answers
 * `{messages, cursor, gap?}` turned into handler calls. Subclasses decide
 * when the next request goes out (`scheduleNext`).
 */
export abstract class PollClientBase implements TransportClient, HttpExchangeHandler {
  abstract readonly protocol: string;
  cursor: string | undefined;

  protected readonly options: ClientOptions;
  protected readonly handlers: ClientHandlers;
  protected readonly context: ClientContext;
  protected readonly connection: HttpConnection;
  protected closed = false;
  /** Route paths under the base URL with the channel in the query, built once per client. */
  private readonly paths: Record<PollRoute, string>;
  private readonly userQuery: string;
  private readonly timeoutMs: number;
  private ready = false;
  private broken = false;
  private route: PollRoute = "short-poll";
  private startedAtMs = 0;
  private settleConnect: ((error?: Error) => void) | null = null;

  constructor(options: ClientOptions, timeoutMs: number) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.timeoutMs = timeoutMs;
    const channelQuery = `?channel=${encodeURIComponent(options.channel)}`;
    this.paths = {
      "short-poll": routePath(options.baseUrl, transport("short-poll").route.path) + channelQuery,
      "long-poll": routePath(options.baseUrl, transport("long-poll").route.path) + channelQuery,
    };
    this.userQuery = `&user=${encodeURIComponent(options.user)}`;
    this.connection = new HttpConnection(
      httpTarget(options.baseUrl, options.localAddress),
      options.context.sockets,
      this,
    );
  }

  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = null;
        if (error) reject(error);
        else resolve();
      };
      this.startedAtMs = performance.now();
      this.send("short-poll");
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelSchedule();
    // A held long poll must not keep the connection for its full timeout.
    this.connection.destroy();
    this.settleConnect?.();
  }

  /** Plans the request after the one that just answered. */
  protected abstract scheduleNext(): void;
  protected abstract cancelSchedule(): void;

  /** Sends one poll; its answer is delivered, and after ready a failure ends in `onBreak`. */
  protected pollOnce(route: PollRoute, timeoutSeconds?: string): void {
    if (this.closed) return;
    this.send(route, timeoutSeconds);
  }

  // HttpExchangeHandler

  onAnswer(answer: HttpAnswer): void {
    if (this.closed) return;
    try {
      this.deliver(answer);
    } catch (error) {
      this.onFailure(error as Error);
      return;
    }
    if (!this.ready) {
      this.ready = true;
      this.handlers.onReady(performance.now() - this.startedAtMs);
      this.settleConnect?.();
    }
    if (!this.closed) this.scheduleNext();
  }

  onFailure(error: Error): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.closed = true;
    this.cancelSchedule();
    this.connection.destroy();
    if (this.settleConnect) this.settleConnect(error);
    else if (this.ready) this.handlers.onBreak(error.message);
  }

  onResend(): void {
    this.context.counters.requests++;
  }

  private send(route: PollRoute, timeoutSeconds?: string): void {
    this.route = route;
    let path = this.paths[route];
    if (this.cursor !== undefined) path += `&since=${encodeURIComponent(this.cursor)}`;
    if (timeoutSeconds !== undefined) path += `&timeout=${timeoutSeconds}`;
    path += this.userQuery;
    this.context.counters.requests++;
    this.connection.send(this.connection.requestHead(path), this.timeoutMs);
  }

  private deliver(answer: HttpAnswer): void {
    if (answer.status !== 200) {
      throw new Error(
        `GET ${this.paths[this.route].split("?")[0]}: expected status 200, found ${answer.status} (${errorText(answer.body.toString())})`,
      );
    }
    const emptyCursor = emptyAnswerCursor(answer.body);
    if (emptyCursor !== null) {
      this.context.counters.emptyPolls++;
      this.gapFromHeader(answer.head);
      this.cursor = emptyCursor;
      return;
    }
    const parsed = parsePollAnswer(answer.body);
    if (parsed === null) {
      // Answered, but not with a poll answer: counted, and the next poll goes out as usual.
      this.handlers.onUnrecognised?.("poll answer that is not {messages: [...]}");
      return;
    }
    if (parsed.gap) this.handlers.onGap(String(parsed.gap.from), String(parsed.gap.to));
    else this.gapFromHeader(answer.head);
    const messages = parsed.messages;
    if (messages.length === 0) this.context.counters.emptyPolls++;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (typeof message === "object" && message !== null) {
        this.handlers.onMessage(String(message.id), message.body);
      } else this.handlers.onUnrecognised?.("poll answer message that is not an object");
    }
    if (parsed.cursor !== undefined && parsed.cursor !== null) this.cursor = String(parsed.cursor);
  }

  /** A gap said only in the header (`from-to`), by servers that leave it out of the body. */
  private gapFromHeader(head: string): void {
    const gapHeader = headerValue(head, GAP_HEADER);
    if (gapHeader === undefined) return;
    const dash = gapHeader.indexOf("-");
    if (dash > 0) this.handlers.onGap(gapHeader.slice(0, dash), gapHeader.slice(dash + 1));
  }
}
