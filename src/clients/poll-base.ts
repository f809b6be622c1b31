import { performance } from "node:perf_hooks";
import type { Client } from "undici";
import { GAP_HEADER, type PollResponse } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { createTrackedClient, errorText, queryString, routePath } from "./http.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/** Which poll route a request goes to: the first request of both is a short poll. */
type PollRoute = "short-poll" | "long-poll";

/**
 * What short and long polling share: one keep-alive connection, one request
 * in flight, answers `{messages, cursor, gap?}` turned into handler calls.
 * Subclasses decide when the next request goes out (`scheduleNext`).
 */
export abstract class PollClientBase implements TransportClient {
  abstract readonly protocol: string;
  cursor: string | undefined;

  protected readonly options: ClientOptions;
  protected readonly handlers: ClientHandlers;
  protected readonly context: ClientContext;
  protected readonly http: Client;
  protected closed = false;
  /** Route paths under the base URL, looked up once per client rather than per poll. */
  private readonly paths: Record<PollRoute, string>;
  private ready = false;
  private broken = false;

  constructor(
    options: ClientOptions,
    timeouts?: { headersTimeoutMs: number; bodyTimeoutMs: number },
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.paths = {
      "short-poll": routePath(options.baseUrl, transport("short-poll").route.path),
      "long-poll": routePath(options.baseUrl, transport("long-poll").route.path),
    };
    this.http = createTrackedClient(options.baseUrl, options.context.sockets, timeouts);
  }

  async connect(): Promise<void> {
    try {
      await this.request("short-poll", true);
    } catch (error) {
      this.closed = true;
      this.http.destroy().catch(ignore);
      throw error;
    }
    if (this.closed) return;
    this.scheduleNext();
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
  protected async pollOnce(route: PollRoute, timeoutSeconds?: string): Promise<void> {
    try {
      await this.request(route, false, timeoutSeconds);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!this.closed) this.scheduleNext();
  }

  private async request(route: PollRoute, first: boolean, timeoutSeconds?: string): Promise<void> {
    const { channel, user } = this.options;
    const path = `${this.paths[route]}?${queryString({
      channel,
      since: this.cursor,
      timeout: timeoutSeconds,
      user,
    })}`;
    const startedAt = first ? performance.now() : 0;
    this.context.counters.requests++;
    const response = await this.http.request({ method: "GET", path });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      throw new Error(
        `GET ${path}: expected status 200, found ${response.statusCode} (${errorText(text)})`,
      );
    }
    const answer = (await response.body.json()) as PollResponse;
    if (this.closed) return;
    if (first) {
      this.ready = true;
      this.handlers.onReady(performance.now() - startedAt);
    }
    this.deliver(answer, response.headers[GAP_HEADER]);
  }

  private deliver(answer: PollResponse, gapHeader: string | string[] | undefined): void {
    if (answer.gap) {
      this.handlers.onGap(
        String(answer.gap.from),
        String(answer.gap.to),
        answer.gap.reset === true,
      );
    } else if (typeof gapHeader === "string") {
      const dash = gapHeader.indexOf("-");
      if (dash > 0) this.handlers.onGap(gapHeader.slice(0, dash), gapHeader.slice(dash + 1));
    }
    const messages = answer.messages;
    if (messages.length === 0) this.context.counters.emptyPolls++;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (message) this.handlers.onMessage(String(message.id), message.body);
    }
    if (answer.cursor !== undefined && answer.cursor !== null) this.cursor = String(answer.cursor);
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
