import type { connect as netConnect } from "node:net";
import WebSocket, { type RawData } from "ws";
import type { ClientFrame, PollResponse, ServerFrame } from "../shared/protocol.js";
import { transport } from "../shared/transports.js";
import { monoMs } from "../util/clock.js";
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
  /** Read fan-out: the highest id the server announced, and whether a fetch is out. */
  private announcedId = 0;
  private fetching = false;

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
    let frame: ServerFrame;
    try {
      frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
    } catch {
      // A malformed frame is the server's fault: report it as a break, not a crash.
      this.broke("malformed JSON frame from the server");
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
        this.handlers.onGap(String(frame.from), String(frame.to), frame.reset === true);
        break;
      case "unread":
        this.handlers.onUnread?.(frame.count, String(frame.lastId));
        break;
      case "notify":
        this.onNotify(frame.lastId);
        break;
      case "batch":
        this.onBatch(frame);
        break;
      case "presence":
        this.handlers.onPresence?.(frame.events);
        break;
      default:
        break; // pong, ack, error: nothing for a subscriber to do
    }
  };

  /** Read fan-out: something is new. A client without a cursor starts from the announced id. */
  private onNotify(lastId: number): void {
    if (this.cursor === undefined) {
      this.cursor = String(lastId);
      return;
    }
    this.announcedId = Math.max(this.announcedId, lastId);
    this.fetchIfBehind();
  }

  private onBatch(batch: PollResponse): void {
    this.fetching = false;
    if (batch.gap) {
      this.handlers.onGap(String(batch.gap.from), String(batch.gap.to), batch.gap.reset === true);
    }
    for (const message of batch.messages) {
      this.cursor = String(message.id);
      this.handlers.onMessage(this.cursor, message.body);
    }
    this.cursor = String(batch.cursor);
    this.fetchIfBehind();
  }

  /** One fetch at a time; announcements that arrive meanwhile are read by the next one. */
  private fetchIfBehind(): void {
    const since = Number(this.cursor);
    if (this.fetching || !(this.announcedId > since) || this.ws === undefined) return;
    this.fetching = true;
    this.context.counters.requests++;
    const fetch: ClientFrame = { type: "fetch", since };
    this.ws.send(JSON.stringify(fetch));
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

export function createWebSocketClient(options: ClientOptions): TransportClient {
  return new WebSocketClient(options);
}
