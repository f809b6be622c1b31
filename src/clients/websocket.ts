import type { connect as netConnect } from "node:net";
import WebSocket, { type RawData } from "ws";
import { monoMs } from "../util/clock.js";
import type { WebSocketDialect, WebSocketSink } from "./dialect.js";
import { REFERENCE_WEBSOCKET } from "./reference-wire.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";
import { closeWebSocket, trackedConnection } from "./ws-socket.js";

/**
 * A WebSocket subscriber over `ws`, without per-message deflate (browsers
 * offer it, but it costs memory per connection and blurs the byte counts).
 * Its dialect says where to connect and what the frames mean (the reference
 * server's by default).
 */
export class WebSocketClient implements TransportClient, WebSocketSink {
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

  constructor(
    options: ClientOptions,
    private readonly dialect: WebSocketDialect = REFERENCE_WEBSOCKET,
  ) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
  }

  connect(): Promise<void> {
    const url = this.dialect.url(this.options);
    const startedAt = monoMs();
    this.context.counters.requests++; // the upgrade request

    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, this.dialect.subprotocols, {
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
        const subscribe = this.dialect.subscribeFrame?.(this.options);
        if (subscribe !== undefined) ws.send(subscribe);
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
      // ws answers protocol pings itself; they still show the server is alive.
      ws.on("ping", this.onPing);
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
    this.lastActivityMs = monoMs();
    // ws delivers a Buffer: the socket's binaryType is left at its default.
    this.dialect.frame(data as Buffer, isBinary, this);
  };

  private readonly onPing = (): void => {
    this.lastActivityMs = monoMs();
  };

  // WebSocketSink, called by the dialect with this client as the sink.

  message(id: string, body: unknown): void {
    this.cursor = id;
    this.handlers.onMessage(id, body);
  }

  gap(from: string, to: string): void {
    this.handlers.onGap(from, to);
  }

  unrecognised(): void {
    this.handlers.onUnrecognised();
  }

  reply(text: string): void {
    this.ws?.send(text);
  }

  malformed(reason: string): void {
    this.broke(reason);
  }

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

export function createWebSocketClient(
  options: ClientOptions,
  dialect?: WebSocketDialect,
): TransportClient {
  return new WebSocketClient(options, dialect);
}
