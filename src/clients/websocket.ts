import type { PresenceEvent } from "../shared/protocol.js";
import { monoMs } from "../util/clock.js";
import type { WebSocketDialect, WebSocketSink } from "./dialect.js";
import { httpTarget } from "./lean-http.js";
import { LeanState, LeanWebSocket, type LeanWebSocketHandler } from "./lean-ws.js";
import { REFERENCE_WEBSOCKET } from "./reference-wire.js";
import {
  CLOSE_TRY_AGAIN_LATER,
  refusalWaitFromHead,
  TRY_AGAIN_LATER_DEFAULT_MS,
} from "./retry-after.js";
import type { ClientContext, ClientHandlers, ClientOptions, TransportClient } from "./types.js";
import { DeflateWebSocket, deflateOffer } from "./ws-deflate.js";

/**
 * A WebSocket subscriber over the lean client (lean-ws.ts), without
 * per-message deflate (browsers offer it, but it costs memory per
 * connection); with `websocket.deflate: on` over ws-deflate.ts, which
 * negotiates and speaks it. Its dialect says where to connect
 * and what the frames mean (the reference server's by default).
 */
export class WebSocketClient implements TransportClient, LeanWebSocketHandler, WebSocketSink {
  readonly protocol = "websocket" as const;
  cursor: string | undefined;
  /** monoMs() of the last frame received (pings included), for the fleet's watchdog. */
  lastActivityMs = 0;
  retryAfterMs: number | undefined;

  /** Until the socket is open: a client holds no more than it needs while connected. */
  private options: ClientOptions | null;
  private readonly handlers: ClientHandlers;
  private readonly context: ClientContext;
  private ws: LeanWebSocket | DeflateWebSocket | undefined;
  private ready = false;
  private closed = false;
  private startedAtMs = 0;
  /** The upgrade request's path, for the error message when it is refused. */
  private path = "";
  private settleConnect: ((error?: Error) => void) | null = null;
  /** Read fan-out: the highest id the server announced, and whether a fetch is out. */
  private announcedId = 0;
  private fetching = false;

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
    const options = this.options;
    if (options === null || this.ws !== undefined) {
      return Promise.reject(new Error("connect() called twice"));
    }
    const url = this.dialect.url(options);
    this.path = url.pathname + url.search;
    this.startedAtMs = monoMs();
    this.context.counters.requests++; // the upgrade request
    return new Promise<void>((resolve, reject) => {
      this.settleConnect = (error) => {
        this.settleConnect = null;
        if (error) reject(error);
        else resolve();
      };
      // A server that accepts TCP but never answers the upgrade (stalled) must not hang an attempt.
      const target = httpTarget(options.baseUrl, options.source, options.context, options.network);
      const { deflate, deflateThreshold, deflateNoContextTakeover } = options.settings;
      this.ws =
        deflate === "on"
          ? new DeflateWebSocket(
              target,
              this.path,
              this.context.sockets,
              this,
              options.requestTimeoutMs,
              this.dialect.subprotocols ?? [],
              deflateOffer(Number(deflateThreshold ?? 1024), String(deflateNoContextTakeover)),
            )
          : new LeanWebSocket(
              target,
              this.path,
              this.context.sockets,
              this,
              options.requestTimeoutMs,
              this.dialect.subprotocols,
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

  // LeanWebSocketHandler, called by the socket.

  onOpen(): void {
    if (this.closed) return;
    this.ready = true;
    this.lastActivityMs = monoMs();
    const options = this.options;
    this.options = null;
    const subscribe = options ? this.dialect.subscribeFrame?.(options) : undefined;
    if (subscribe !== undefined) this.ws?.send(subscribe);
    this.handlers.onReady(this.lastActivityMs - this.startedAtMs);
    this.settleConnect?.();
  }

  onActivity(): void {
    this.lastActivityMs = monoMs();
  }

  onRefused(status: number, _reason: string, headers: string): void {
    this.retryAfterMs = refusalWaitFromHead(status, headers);
    this.closed = true;
    this.settleConnect?.(
      new Error(`GET ${this.path}: expected 101 Switching Protocols, found ${status}`),
    );
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    this.dialect.frame(data, isBinary, this);
  }

  onClose(code: number, reason: string): void {
    if (code === CLOSE_TRY_AGAIN_LATER) this.retryAfterMs = TRY_AGAIN_LATER_DEFAULT_MS;
    if (this.settleConnect) {
      this.closed = true;
      this.settleConnect(new Error(reason || `connection closed with code ${code} before open`));
      return;
    }
    this.broke(`closed with code ${code}${reason.length > 0 ? ` (${reason})` : ""}`);
  }

  // WebSocketSink, called by the dialect with this client as the sink.

  message(id: string, body: unknown): void {
    this.cursor = id;
    this.handlers.onMessage(id, body);
  }

  gap(from: string, to: string, reset?: boolean): void {
    this.handlers.onGap(from, to, reset);
  }

  unread(count: number, lastId: string): void {
    this.handlers.onUnread?.(count, lastId);
  }

  presence(events: readonly PresenceEvent[]): void {
    this.handlers.onPresence?.(events);
  }

  /** Read fan-out: something is new. A client without a cursor starts from the announced id. */
  announced(lastId: string): void {
    if (this.cursor === undefined) {
      this.cursor = lastId;
      return;
    }
    this.announcedId = Math.max(this.announcedId, Number(lastId));
    this.fetchIfBehind();
  }

  /** A fetch was answered (its messages came through `message`): `cursor` is where it ended. */
  fetched(cursor: string | undefined): void {
    this.fetching = false;
    if (cursor !== undefined) this.cursor = cursor;
    this.fetchIfBehind();
  }

  unrecognised(what?: string, frame?: unknown): void {
    this.handlers.onUnrecognised(what, frame);
  }

  reply(text: string | Buffer): void {
    this.ws?.send(text);
  }

  malformed(reason: string): void {
    this.broke(reason);
  }

  /** One fetch at a time; announcements that arrive meanwhile are read by the next one. */
  private fetchIfBehind(): void {
    const since = Number(this.cursor);
    if (this.fetching || !(this.announcedId > since) || this.ws === undefined) return;
    const frame = this.dialect.fetchFrame?.(String(since));
    if (frame === undefined) return;
    this.fetching = true;
    this.context.counters.requests++;
    this.ws.send(frame);
  }

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
