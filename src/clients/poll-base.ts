import { performance } from "node:perf_hooks";
import type { PollDialect, PollRequests, WireSink } from "./dialect.js";
import type { HttpAnswer } from "./http1-parser.js";
import { HttpConnection, type HttpExchangeHandler, httpTarget } from "./lean-http.js";
import { refusalWaitFromHead } from "./retry-after.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/**
 * What short and long polling share: one keep-alive connection (the lean
 * HTTP/1.1 client, lean-http.ts), one request in flight, answers turned
 * into handler calls by the dialect (the reference server's
 * `{messages, cursor, gap?}` by default). Subclasses decide when the next
 * request goes out (`scheduleNext`).
 */
export abstract class PollClientBase implements TransportClient, HttpExchangeHandler, WireSink {
  abstract readonly protocol: string;
  cursor: string | undefined;
  retryAfterMs: number | undefined;

  protected readonly options: ClientOptions;
  protected readonly handlers: ClientHandlers;
  protected readonly context: ClientContext;
  protected readonly connection: HttpConnection;
  protected closed = false;
  /** How long the server may hold a long poll, in seconds as the request says it. */
  protected timeoutSeconds: string | undefined;
  private readonly requests: PollRequests;
  private readonly timeoutMs: number;
  private ready = false;
  private broken = false;
  /** The path of the request in flight, for error messages. */
  private path = "";
  /** Start of the first request while its answer (or connection) is awaited; null otherwise. */
  private readyPendingSince: number | null = null;
  private settleConnect: ((error?: Error) => void) | null = null;
  /**
   * The last request sent and what it was built from: a poll whose cursor
   * has not moved (an empty answer, most polls of a quiet channel) sends the
   * same bytes again, without building the path and head and encoding them.
   */
  private lastRequest: {
    kind: "short" | "long";
    cursor: string | undefined;
    timeoutSeconds: string | undefined;
    head: Buffer;
  } | null = null;

  constructor(
    options: ClientOptions,
    private readonly dialect: PollDialect,
    timeoutMs: number,
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.timeoutMs = timeoutMs;
    this.requests = dialect.requests(options);
    this.connection = new HttpConnection(
      httpTarget(options.baseUrl, options.source, options.context, options.network),
      options.context.sockets,
      this,
    );
  }

  /**
   * Sends the first request. A short poll answers at once (with the current
   * cursor), so its answer makes the client ready. A server that holds the
   * first request until a message exists (PollDialect.first) makes the
   * client ready once its connection is up; the answer, whenever it comes,
   * is delivered as any other.
   */
  connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = null;
        if (error) reject(error);
        else resolve();
      };
      this.readyPendingSince = performance.now();
      const first = this.dialect.first;
      this.send(first, first === "long" ? this.timeoutSeconds : undefined);
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
  protected pollOnce(kind: "short" | "long"): void {
    if (this.closed) return;
    this.send(kind, kind === "long" ? this.timeoutSeconds : undefined);
  }

  // HttpExchangeHandler, called by the connection.

  onConnect(): void {
    if (this.dialect.first === "long") this.markReady();
  }

  onAnswer(answer: HttpAnswer): void {
    if (this.closed) return;
    // A full server's refusal: the dialect reports it as a failure; the wait it asked for stays here.
    this.retryAfterMs = refusalWaitFromHead(answer.status, answer.head);
    let read: ReturnType<PollDialect["answer"]>;
    try {
      // The dialect checks the whole answer before it delivers anything.
      read = this.dialect.answer(answer, this);
    } catch (error) {
      this.onFailure(new Error(`GET ${this.path}: ${(error as Error).message}`));
      return;
    }
    this.markReady();
    if (read.messages === 0) this.context.counters.emptyPolls++;
    if (read.cursor !== undefined) this.cursor = read.cursor;
    if (!this.closed) this.scheduleNext();
  }

  onFailure(error: Error): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.closed = true;
    this.readyPendingSince = null;
    this.cancelSchedule();
    this.connection.destroy();
    if (this.settleConnect) this.settleConnect(error);
    else if (this.ready) this.handlers.onBreak(error.message);
  }

  onResend(): void {
    this.context.counters.requests++;
  }

  // WireSink, called by the dialect with this client as the sink.

  message(id: string, body: unknown): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onMessage(id, body);
  }

  gap(from: string, to: string, reset?: boolean): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onGap(from, to, reset);
  }

  unrecognised(what?: string, frame?: unknown): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onUnrecognised(what, frame);
  }

  /** Ready at the first answer's first message (or its end): onReady comes before any message. */
  private markReady(): void {
    const startedAt = this.readyPendingSince;
    if (startedAt === null) return;
    this.readyPendingSince = null;
    if (this.closed) return;
    this.ready = true;
    this.handlers.onReady(performance.now() - startedAt);
    this.settleConnect?.();
  }

  private send(kind: "short" | "long", timeoutSeconds: string | undefined): void {
    const cursor = this.cursor;
    const last = this.lastRequest;
    if (
      last === null ||
      last.kind !== kind ||
      last.cursor !== cursor ||
      last.timeoutSeconds !== timeoutSeconds
    ) {
      const { path, headers } = this.requests(kind, cursor, timeoutSeconds);
      this.path = path;
      // Latin-1 bytes once: an unchanged request is written as the same Buffer again.
      const head = Buffer.from(this.connection.requestHead(path, headers), "latin1");
      this.lastRequest = { kind, cursor, timeoutSeconds, head };
    }
    this.context.counters.requests++;
    this.connection.send((this.lastRequest as { head: Buffer }).head, this.timeoutMs);
  }
}
