import type { connect as netConnect } from "node:net";
import WebSocket, { type RawData } from "ws";
import type { ClientFrame, ServerFrame } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { MAX_WS_MESSAGE_BYTES } from "./bounds.js";
import { routePath } from "./http.js";
import type { Publisher } from "./publishers.js";
import type { ClientContext } from "./types.js";
import { closeWebSocket, trackedConnection } from "./ws-socket.js";

/**
 * The WebSocket publisher of the reference protocol: publish frames on one
 * socket per channel, each acked by `ref` in whatever order the server
 * takes, an error frame failing the publish it names (or the oldest).
 */

const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = JSON.stringify(PONG);

/** Publish frames over one WebSocket per channel, opened on the first publish to it. */
export function createWebSocketPublisher(
  baseUrl: string,
  /** `headers`: sent with each socket's upgrade request (the server's token). */
  options: { context: ClientContext; headers?: Record<string, string> },
): Publisher {
  return new WebSocketPublisher(baseUrl, options.context, options.headers ?? {});
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
    private readonly headers: Record<string, string>,
  ) {}

  async publish(
    channel: string,
    body: unknown,
    signal?: AbortSignal,
    key?: string,
  ): Promise<{ id: string }> {
    if (this.closed) throw new Error("publish after the WebSocket publisher was closed");
    let socket = this.channels.get(channel);
    if (!socket || socket.isDone) {
      socket = new ChannelSocket(this.baseUrl, channel, this.context, this.headers);
      this.channels.set(channel, socket);
    }
    return socket.publish(body, signal, key);
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
    headers: Record<string, string>,
  ) {
    const url = new URL(routePath(baseUrl, transport("websocket").route.path, channel), baseUrl);
    const secure = url.protocol === "https:";
    url.protocol = secure ? "wss:" : "ws:";
    context.counters.requests++; // the upgrade request
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: MAX_WS_MESSAGE_BYTES,
      headers,
      createConnection: trackedConnection(
        context.sockets,
        secure ? context.tls : undefined,
      ) as typeof netConnect,
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

  /** Frames go out at once; acks come back by `ref`, in whatever order and time the server takes. */
  async publish(body: unknown, signal?: AbortSignal, key?: string): Promise<{ id: string }> {
    await abortable(this.opened, signal);
    if (this.done) throw new Error(this.doneReason);
    signal?.throwIfAborted();
    const ref = this.nextRef++;
    const publish: ClientFrame =
      key === undefined ? { type: "publish", ref, body } : { type: "publish", ref, body, key };
    const frame = JSON.stringify(publish);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.delete(ref)) reject(signal?.reason ?? new Error("publish aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(ref, {
        resolve: (value) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
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
    let frame: ServerFrame | null;
    try {
      frame = JSON.parse((data as Buffer).toString()) as ServerFrame | null;
    } catch {
      return;
    }
    // `null`, a number, an array: not a frame of the protocol, and no reason to crash.
    if (typeof frame !== "object" || frame === null) return;
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

/** `promise`, or a rejection as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
