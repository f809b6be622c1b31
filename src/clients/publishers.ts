import type { Pool } from "undici";
import { IDEMPOTENCY_KEY_HEADER, type Message, ROUTES } from "../shared/protocol.js";
import { createTrackedPool, errorAnswerText, routePath } from "./http.js";
import type { ClientContext } from "./types.js";

/*
 * How a run sends its messages: the Publisher interface, and the reference
 * protocol's HTTP publisher (its WebSocket publisher is ws-publisher.ts).
 */

/**
 * Sends messages to the server and returns the id it assigned. The context
 * given decides where publisher bytes and requests are counted: pass one apart
 * from the subscribers' so their overhead is not inflated.
 *
 * Publishes never wait for each other: each is its own request (or frame),
 * however long earlier ones take to be answered. `signal` gives up on one
 * (it then rejects); `close` gives up on every one still unanswered.
 *
 * `key` is the publish's idempotency key: the reference server stores a
 * repeat of it once (HTTP `Idempotency-Key`, WebSocket `key`); targets that
 * have no such thing ignore it.
 */
export interface Publisher {
  publish(
    channel: string,
    body: unknown,
    signal?: AbortSignal,
    key?: string,
  ): Promise<{ id: string }>;
  close(): Promise<void>;
}

/**
 * POST /api/messages over a keep-alive pool of up to `connections` sockets,
 * one request in flight on each: as many publishes can wait for their
 * answers at once.
 */
export function createHttpPublisher(
  baseUrl: string,
  /** `headers`: sent with every publish (the server's token). */
  options: { connections: number; context: ClientContext; headers?: Record<string, string> },
): Publisher {
  return new HttpPublisher(baseUrl, options.connections, options.context, options.headers ?? {});
}

class HttpPublisher implements Publisher {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    baseUrl: string,
    connections: number,
    private readonly context: ClientContext,
    headers: Record<string, string>,
  ) {
    this.pool = createTrackedPool(baseUrl, context.sockets, Math.max(1, connections), context.tls);
    this.path = routePath(baseUrl, ROUTES.publish);
    this.headers = { "content-type": "application/json", ...headers };
  }

  async publish(
    channel: string,
    body: unknown,
    signal?: AbortSignal,
    key?: string,
  ): Promise<{ id: string }> {
    this.context.counters.requests++;
    const response = await this.pool.request({
      method: "POST",
      // The channel in the query too (the server reads the body's): a proxy
      // that hashes on the channel (server.proxy.balance) cannot read bodies.
      path: `${this.path}?channel=${encodeURIComponent(channel)}`,
      headers:
        key === undefined ? this.headers : { ...this.headers, [IDEMPOTENCY_KEY_HEADER]: key },
      body: JSON.stringify({ channel, body }),
      signal,
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(
        `POST ${this.path} (channel ${channel}): expected status 201, found ${response.statusCode} (${errorAnswerText(text)})`,
      );
    }
    let stored: Partial<Message> | null = null;
    try {
      stored = JSON.parse(text) as Partial<Message> | null;
    } catch {
      // not JSON: reported below
    }
    if (
      typeof stored !== "object" ||
      stored === null ||
      stored.id === undefined ||
      stored.id === null
    ) {
      throw new Error(
        `POST ${this.path}: expected the stored message with an id, found ${text.slice(0, 200)}`,
      );
    }
    return { id: String(stored.id) };
  }

  async close(): Promise<void> {
    // destroy, not close: close would wait for every publish still unanswered.
    await this.pool.destroy();
  }
}
