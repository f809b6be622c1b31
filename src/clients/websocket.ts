import type { connect as netConnect } from "node:net";
import WebSocket, { type RawData } from "ws";
import type { ClientFrame, ServerFrame } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
import { parseObject } from "./frame.js";
import { queryString, routePath } from "./http.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";
import { closeWebSocket, trackedConnection } from "./ws-socket.js";

/** Serialised once: every app-level ping gets the same bytes back. */
const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = JSON.stringify(PONG);

/**
 * A WebSocket subscriber over `ws`, without per-message deflate (browsers
 * offer it, but it costs memory per connection and blurs the byte counts).
 */
export class WebSocketClient implements TransportClient {
  readonly protocol = "websocket" as const;
  cursor: string | undefined;
  /** monoMs() of the last frame received (pings included), for the fleet's watchdog. */
  lastActivityMs = 0;

  private readonly options: ClientOptions;
  private readonly handlers: ClientHandlers;
  private readonly context: ClientContext;
  private ws: WebSocket | undefined;
  private ready = false;
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
  }

  connect(): Promise<void> {
    const { baseUrl, channel, user, since } = this.options;
    const url = new URL(
      `${routePath(baseUrl, transport("websocket").route.path, channel)}?${queryString({ user, since })}`,
      baseUrl,
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const startedAt = monoMs();
    this.context.counters.requests++; // the upgrade request

    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        // A server that accepts TCP but never answers the upgrade (stalled) must not hang an attempt.
        handshakeTimeout: this.options.requestTimeoutMs,
        // Our own connect, so the socket is tracked from its first byte, upgrade included.
        // ws always passes an options object; the cast covers net.connect's other overloads.
        createConnection: trackedConnection(this.context.sockets) as typeof netConnect,
      });
      this.ws = ws;
      ws.once("open", () => {
        if (this.closed) return;
        this.ready = true;
        this.lastActivityMs = monoMs();
        this.handlers.onReady(this.lastActivityMs - startedAt);
        resolve();
      });
      ws.once("unexpected-response", (_req, res) => {
        this.closed = true;
        res.resume();
        ws.terminate();
        reject(
          new Error(
            `GET ${url.pathname}: expected 101 Switching Protocols, found ${res.statusCode}`,
          ),
        );
      });
      ws.on("error", (error) => {
        if (this.ready) this.broke(error.message);
        else {
          this.closed = true;
          reject(error);
        }
      });
      ws.on("message", this.onFrame);
      ws.once("close", this.onClose);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const ws = this.ws;
    if (!ws) return;
    closeWebSocket(ws);
  }

  private readonly onFrame = (data: RawData, isBinary: boolean): void => {
    if (isBinary) return;
    this.lastActivityMs = monoMs();
    const frame = parseObject((data as Buffer).toString()) as ServerFrame | null;
    if (frame === null) {
      this.handlers.onUnrecognised?.("WebSocket frame that is not a JSON object");
      return;
    }
    switch (frame.type) {
      case "message":
        this.cursor = String(frame.id);
        this.handlers.onMessage(this.cursor, frame.body);
        break;
      case "ping":
        this.ws?.send(PONG_FRAME);
        break;
      case "gap":
        this.handlers.onGap(String(frame.from), String(frame.to));
        break;
      default:
        break; // pong, ack, error: nothing for a subscriber to do
    }
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.broke(`closed with code ${code}${reason.length > 0 ? ` (${reason.toString()})` : ""}`);
  };

  private broke(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws?.terminate();
    if (this.ready) this.handlers.onBreak(reason);
  }
}

export function createWebSocketClient(options: ClientOptions): TransportClient {
  return new WebSocketClient(options);
}
