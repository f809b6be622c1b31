import { type ClientRequest, request } from "node:http";
import type { Socket } from "node:net";
import { monoMs } from "../util/clock.js";
import type { EventStreamDialect } from "./dialect.js";
import { EventStreamClient, notAnEventStream } from "./event-stream.js";
import { originOf } from "./http.js";
import { REFERENCE_SSE } from "./reference-wire.js";
import type { ClientOptions, TransportClient } from "./types.js";

/**
 * A lean SSE subscriber: one node:http request with no agent (its own
 * socket, as an EventSource has), parsed by SseParser. Far less memory per
 * connection than the `eventsource` package, which matters at tens of
 * thousands of clients.
 */
export class SseClient extends EventStreamClient {
  readonly protocol = "sse";
  private req: ClientRequest | undefined;

  constructor(options: ClientOptions, dialect: EventStreamDialect = REFERENCE_SSE) {
    super(options, dialect);
  }

  connect(): Promise<void> {
    const { baseUrl, since } = this.options;
    const url = new URL(this.dialect.path(this.options), originOf(baseUrl));
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      "cache-control": "no-cache",
    };
    if (since !== undefined) headers["last-event-id"] = since;
    const startedAt = monoMs();
    this.context.counters.requests++;

    return new Promise<void>((resolve, reject) => {
      const source = this.options.source;
      const req = request(url, {
        agent: false,
        headers,
        ...(source && { localAddress: source.address, localPort: source.port }),
      });
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
        const problem = notAnEventStream(res.statusCode, res.headers["content-type"] ?? "");
        if (problem !== null) {
          res.resume();
          req.destroy();
          this.closed = true;
          reject(new Error(`GET ${url.pathname}: ${problem}`));
          return;
        }
        if (this.closed) {
          req.destroy();
          resolve();
          return;
        }
        this.opened(startedAt);
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

  protected abort(): void {
    this.req?.destroy();
  }
}

export function createSseClient(
  options: ClientOptions,
  dialect?: EventStreamDialect,
): TransportClient {
  return new SseClient(options, dialect);
}
