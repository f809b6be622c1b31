import type { ClientFrame, ServerFrame } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
import { parseObject } from "./frame.js";
import { queryString, routePath } from "./http.js";
import { httpTarget } from "./lean-http.js";
import { LeanState, LeanWebSocket, type LeanWebSocketHandler } from "./lean-ws.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";

/** Serialised once: every app-level ping gets the same bytes back. */
const PONG: ClientFrame = { type: "pong" };
const PONG_FRAME = Buffer.from(JSON.stringify(PONG));

/**
 * A WebSocket subscriber over the lean client (lean-ws.ts), without
 * per-message deflate (browsers offer it, but it costs memory per
 * connection and blurs the byte counts).
 */
export class WebSocketClient implements TransportClient, LeanWebSocketHandler {
  readonly protocol = "websocket" as const;
  cursor: string | undefined;
  /** monoMs() of the last frame received (pings included), for the fleet's watchdog. */
  lastActivityMs = 0;

  /** Until connect() used them: a client holds no more than it needs while connected. */
  private options: ClientOptions | null;
  private readonly handlers: ClientHandlers;
  private readonly context: ClientContext;
  private ws: LeanWebSocket | undefined;
  private ready = false;
  private closed = false;
  private startedAtMs = 0;
  private readonly channel: string;
  private readonly baseUrl: string;
  private settleConnect: ((error?: Error) => void) | null = null;

  constructor(options: ClientOptions) {
    this.options = options;
    this.handlers = options.handlers;
    this.context = options.context;
    this.cursor = options.since;
    this.channel = options.channel;
    this.baseUrl = options.baseUrl;
  }

  connect(): Promise<void> {
    const options = this.options;
    if (options === null) return Promise.reject(new Error("connect() called twice"));
    this.options = null;
    const { baseUrl, channel, user, since } = options;
    const path = `${routePath(baseUrl, transport("websocket").route.path, channel)}?${queryString({ user, since })}`;
    this.startedAtMs = monoMs();
    this.context.counters.requests++; // the upgrade request
    return new Promise<void>((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = null;
        if (error) reject(error);
        else resolve();
      };
      // A server that accepts TCP but never answers the upgrade (stalled) must not hang an attempt.
      this.ws = new LeanWebSocket(
        httpTarget(baseUrl, options.localAddress),
        path,
        this.context.sockets,
        this,
        options.requestTimeoutMs,
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const ws = this.ws;
    if (ws?.state === LeanState.Open) ws.close(1000);
    else ws?.terminate();
    this.settleConnect?.();
  }

  // LeanWebSocketHandler

  onOpen(): void {
    if (this.closed) return;
    this.ready = true;
    this.lastActivityMs = monoMs();
    this.handlers.onReady(this.lastActivityMs - this.startedAtMs);
    this.settleConnect?.();
  }

  onActivity(): void {
    this.lastActivityMs = monoMs();
  }

  onRefused(status: number): void {
    this.closed = true;
    this.settleConnect?.(
      new Error(
        `GET ${routePath(this.baseUrl, transport("websocket").route.path, this.channel)}: expected 101 Switching Protocols, found ${status}`,
      ),
    );
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return;
    const frame = parseObject(data.toString()) as ServerFrame | null;
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
  }

  onClose(code: number, reason: string): void {
    if (this.settleConnect) {
      this.closed = true;
      this.settleConnect(new Error(reason || `connection closed with code ${code} before open`));
      return;
    }
    this.broke(`closed with code ${code}${reason.length > 0 ? ` (${reason})` : ""}`);
  }

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
