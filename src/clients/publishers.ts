import type { connect as netConnect } from "node:net";
import type { Pool } from "undici";
import WebSocket, { type RawData } from "ws";
import { type ClientFrame, type Message, ROUTES, type ServerFrame } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { createTrackedPool, errorText, routePath } from "./http.js";
import type { ClientContext } from "./types.js";
import { closeWebSocket, trackedConnection } from "./ws-socket.js";

/**
 * Sends messages to the server and returns the id it assigned. The context
 * given decides where publisher bytes and requests are counted: pass one apart
 * from the subscribers' so their overhead is not inflated.
 */
export interface Publisher {
  publish(channel: string, body: unknown): Promise<{ id: string }>;
  close(): Promise<void>;
}

const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = JSON.stringify(PONG);

/** POST /api/messages over a keep-alive pool of `connections` sockets. */
export function createHttpPublisher(
  baseUrl: string,
  options: { connections: number; context: ClientContext },
): Publisher {
  return new HttpPublisher(baseUrl, options.connections, options.context);
}

class HttpPublisher implements Publisher {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    baseUrl: string,
    connections: number,
    private readonly context: ClientContext,
  ) {
    this.pool = createTrackedPool(baseUrl, context.sockets, Math.max(1, connections));
    this.path = routePath(baseUrl, ROUTES.publish);
  }

  async publish(channel: string, body: unknown): Promise<{ id: string }> {
    this.context.counters.requests++;
    const response = await this.pool.request({
      method: "POST",
      path: this.path,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channel, body }),
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new Error(
        `POST ${this.path} (channel ${channel}): expected status 201, found ${response.statusCode} (${errorText(text)})`,
      );
    }
    const stored = JSON.parse(text) as Partial<Message>;
    if (stored.id === undefined || stored.id === null) {
      throw new Error(
        `POST ${this.path}: expected the stored message with an id, found ${text.slice(0, 200)}`,
      );
    }
    return { id: String(stored.id) };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Publish frames over one WebSocket per channel, opened on the first publish to it. */
export function createWebSocketPublisher(
  baseUrl: string,
  options: { context: ClientContext },
): Publisher {
  return new WebSocketPublisher(baseUrl, options.context);
}

interface PendingAck {
  resolve(value: { id: string }): void;
  reject(error: Error): void;
}

class WebSocketPublisher implements Publisher {
  private readonly channels = new Map<string, ChannelSocket>();
  private closed = false;

  constructor(
    private readonly baseUrl: string,
    private readonly context: ClientContext,
  ) {}

  async publish(channel: string, body: unknown): Promise<{ id: string }> {
    if (this.closed) throw new Error("publish after the WebSocket publisher was closed");
    let socket = this.channels.get(channel);
    if (!socket || socket.isDone) {
      socket = new ChannelSocket(this.baseUrl, channel, this.context);
      this.channels.set(channel, socket);
    }
    return socket.publish(body);
  }

  async close(): Promise<void> {
    this.closed = true;
    const sockets = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(sockets.map((socket) => socket.close()));
  }
}

class ChannelSocket {
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;
  private readonly pending = new Map<number, PendingAck>();
  private nextRef = 1;
  private done = false;
  private doneReason = "";

  constructor(
    baseUrl: string,
    private readonly channel: string,
    context: ClientContext,
  ) {
    const url = new URL(routePath(baseUrl, transport("websocket").route.path, channel), baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    context.counters.requests++; // the upgrade request
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      createConnection: trackedConnection(context.sockets) as typeof netConnect,
    });
    this.opened = new Promise<void>((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("close", () =>
        reject(
          new Error(this.doneReason || `WebSocket publisher on ${channel}: closed before open`),
        ),
      );
    });
    // publish() attaches its own handler; this keeps an early failure from going unhandled.
    this.opened.catch(() => {});
    this.ws.on("message", this.onFrame);
    this.ws.on("error", (error) =>
      this.finish(`WebSocket publisher on ${channel}: ${error.message}`),
    );
    this.ws.once("unexpected-response", (_req, res) => {
      res.resume();
      this.finish(
        `WebSocket publisher on ${channel}: expected 101 Switching Protocols, found ${res.statusCode}`,
      );
      this.ws.terminate();
    });
    this.ws.once("close", (code: number) =>
      this.finish(`WebSocket publisher on ${channel}: closed with code ${code} before the ack`),
    );
  }

  get isDone(): boolean {
    return this.done;
  }

  async publish(body: unknown): Promise<{ id: string }> {
    await this.opened;
    if (this.done) throw new Error(this.doneReason);
    const ref = this.nextRef++;
    const publish: ClientFrame = { type: "publish", ref, body };
    const frame = JSON.stringify(publish);
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.ws.send(frame);
    });
  }

  close(): Promise<void> {
    this.finish(`WebSocket publisher on ${this.channel}: closed before the ack`);
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      closeWebSocket(this.ws);
    });
  }

  private readonly onFrame = (data: RawData, isBinary: boolean): void => {
    if (isBinary) return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === "ack") {
      const ref = Number(frame.ref);
      const waiter = this.pending.get(ref);
      if (!waiter) return;
      this.pending.delete(ref);
      waiter.resolve({ id: String(frame.id) });
    } else if (frame.type === "error") {
      this.rejectOne(frame);
    } else if (frame.type === "ping") {
      this.ws.send(PONG_FRAME);
    }
  };

  /**
   * The server answers a bad publish with an error frame; it names the ref when
   * it can, otherwise it is the oldest unanswered publish (frames are handled in order).
   */
  private rejectOne(frame: { error: string; ref?: unknown }): void {
    let ref = typeof frame.ref === "number" ? frame.ref : undefined;
    if (ref === undefined) {
      for (const key of this.pending.keys()) {
        ref = key;
        break;
      }
    }
    if (ref === undefined) return;
    const waiter = this.pending.get(ref);
    if (!waiter) return;
    this.pending.delete(ref);
    waiter.reject(
      new Error(`WebSocket publisher on ${this.channel}: server error: ${frame.error}`),
    );
  }

  private finish(reason: string): void {
    if (!this.done) {
      this.done = true;
      this.doneReason = reason;
    }
    if (this.pending.size === 0) return;
    const error = new Error(this.doneReason);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
