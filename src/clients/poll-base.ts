import { performance } from "node:perf_hooks";
import type { Client } from "undici";
import type { PollDialect, PollRequests, WireSink } from "./dialect.js";
import { createTrackedClient } from "./http.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/**
 * What short and long polling share: one keep-alive connection, one request
 * in flight, answers turned into handler calls by the dialect (the reference
 * server's `{messages, cursor, gap?}` by default). Subclasses decide when
 * the next request goes out (`scheduleNext`).
 */
export abstract class PollClientBase implements TransportClient, WireSink {
  abstract readonly protocol: string;
  cursor: string | undefined;

  protected readonly options: ClientOptions;
  protected readonly handlers: ClientHandlers;
  protected readonly context: ClientContext;
  protected readonly http: Client;
  protected closed = false;
  /** How long the server may hold a long poll, in seconds as the request says it. */
  protected timeoutSeconds: string | undefined;
  private readonly requests: PollRequests;
  private ready = false;
  /** Start of the first request while its answer (or connection) is awaited; null otherwise. */
  private readyPendingSince: number | null = null;
  private broken = false;

  constructor(
    options: ClientOptions,
    private readonly dialect: PollDialect,
    timeouts?: { headersTimeoutMs: number; bodyTimeoutMs: number },
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.requests = dialect.requests(options);
    this.http = createTrackedClient(options.baseUrl, options.context.sockets, timeouts);
  }

  async connect(): Promise<void> {
    if (this.dialect.first === "long") return this.connectHeld();
    try {
      await this.request("short", performance.now());
    } catch (error) {
      this.closed = true;
      this.http.destroy().catch(ignore);
      throw error;
    }
    if (this.closed) return;
    this.scheduleNext();
  }

  /**
   * A first request the server holds until a message exists: the client is
   * ready once its connection is up (the request goes out on it at once),
   * and the answer, whenever it comes, is delivered as any other.
   */
  private connectHeld(): Promise<void> {
    const startedAt = performance.now();
    return new Promise<void>((resolve, reject) => {
      this.http.once("connect", () => {
        this.readyPendingSince = startedAt;
        this.markReady();
        resolve();
      });
      this.request("long", null, this.timeoutSeconds).then(
        () => {
          resolve();
          if (!this.closed) this.scheduleNext();
        },
        (error) => {
          if (this.ready) {
            this.fail(error);
            return;
          }
          this.closed = true;
          this.http.destroy().catch(ignore);
          reject(error);
        },
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelSchedule();
    // destroy, not close: a held long poll must not keep the connection for its full timeout.
    this.http.destroy().catch(ignore);
  }

  /** Plans the request after the one that just answered. */
  protected abstract scheduleNext(): void;
  protected abstract cancelSchedule(): void;

  /** Sends one poll and delivers its answer; after ready, failures end in `onBreak`. */
  protected async pollOnce(kind: "short" | "long"): Promise<void> {
    try {
      await this.request(kind, null, kind === "long" ? this.timeoutSeconds : undefined);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!this.closed) this.scheduleNext();
  }

  /** `firstStartedAt`: the request is the first, whose answer makes the client ready. */
  private async request(
    kind: "short" | "long",
    firstStartedAt: number | null,
    timeoutSeconds?: string,
  ): Promise<void> {
    const { path, headers } = this.requests(kind, this.cursor, timeoutSeconds);
    this.context.counters.requests++;
    const response = await this.http.request({ method: "GET", path, headers });
    const text = await response.body.text();
    if (this.closed) return;
    this.readyPendingSince = firstStartedAt;
    let answer: ReturnType<PollDialect["answer"]>;
    try {
      // The dialect checks the whole answer before it delivers anything.
      answer = this.dialect.answer(response.statusCode, response.headers, text, this);
    } catch (error) {
      this.readyPendingSince = null;
      throw new Error(`GET ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.markReady();
    if (answer.messages === 0) this.context.counters.emptyPolls++;
    if (answer.cursor !== undefined) this.cursor = answer.cursor;
  }

  /** Ready at the first answer's first message (or its end): onReady comes before any message. */
  private markReady(): void {
    const startedAt = this.readyPendingSince;
    if (startedAt === null) return;
    this.readyPendingSince = null;
    if (this.closed) return;
    this.ready = true;
    this.handlers.onReady(performance.now() - startedAt);
  }

  // WireSink, called by the dialect with this client as the sink.

  message(id: string, body: unknown): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onMessage(id, body);
  }

  gap(from: string, to: string): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onGap(from, to);
  }

  unrecognised(): void {
    if (this.readyPendingSince !== null) this.markReady();
    this.handlers.onUnrecognised();
  }

  private fail(error: unknown): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.closed = true;
    this.cancelSchedule();
    this.http.destroy().catch(ignore);
    if (this.ready) this.handlers.onBreak(error instanceof Error ? error.message : String(error));
  }
}

function ignore(): void {}
