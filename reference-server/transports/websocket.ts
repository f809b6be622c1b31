// The WebSocket transport's endpoint: checks an upgrade's URL and admission
// while a plain HTTP answer can still say why, then hands the socket to a
// session (websocket-session.ts), which delivers, heartbeats and takes the
// client's frames (websocket-frames.ts).
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { authorized } from "../access.js";
import type { ServerContext } from "../context.js";
import { HttpError, parseChannel, parseCursor, parseUser, refuseUpgrade } from "../http.js";
import type { MountedTransport, RouteMatch } from "./types.js";
import { WsSession } from "./websocket-session.js";

/** Takes WebSocket upgrades on the transport's route; `close` stops taking new ones. */
export function mountWebSocket(ctx: ServerContext): MountedTransport {
  const endpoint = new WebSocketEndpoint(ctx);
  return {
    upgrade: (req, socket, head, route) => endpoint.handleUpgrade(req, socket, head, route),
    close: () => endpoint.close(),
  };
}

/**
 * `GET /ws/chat/C?since=ID&user=U`: JSON text frames both ways. Bad URLs are
 * refused with an HTTP 400 before the upgrade, so a client sees why.
 */
export class WebSocketEndpoint {
  private readonly wss: WebSocketServer;

  constructor(private readonly ctx: ServerContext) {
    this.wss = new WebSocketServer({
      noServer: true,
      // Oversized frames are refused by ws itself with close code 1009.
      maxPayload: ctx.settings.maxBodyBytes,
      // Refused unless asked for: a zlib context per connection each way costs memory.
      // A client's no_context_takeover requests are honoured.
      perMessageDeflate:
        ctx.settings.wsDeflateThreshold === null
          ? false
          : { threshold: ctx.settings.wsDeflateThreshold },
      clientTracking: false,
    });
    // A broken handshake (method, Upgrade, key, version, subprotocols) gets the
    // JSON error shape too, instead of ws's own plain-text answer.
    this.wss.on("wsClientError", (error: Error, socket: Duplex) => {
      const status = error.message === "Invalid HTTP method" ? 405 : 400;
      const headers: Record<string, string> = error.message.includes("Sec-WebSocket-Version")
        ? { "sec-websocket-version": "13, 8" }
        : {};
      refuseUpgrade(
        socket,
        new HttpError(status, `WebSocket handshake: ${error.message}`, headers),
      );
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: RouteMatch): void {
    const url = route.url;
    let channel: string;
    let since: number | null;
    let user: string | null;
    try {
      channel = parseChannel(route.channel, "URL path");
      since = parseCursor(url.searchParams.get("since"), "since");
      user = parseUser(url.searchParams.get("user"));
      // Refused before the upgrade, while a plain HTTP answer can still say why.
      this.ctx.admission.admitSubscriber();
    } catch (error) {
      refuseUpgrade(socket, error instanceof HttpError ? error : new HttpError(400, String(error)));
      return;
    }
    // Publish frames need the token (when the server has one) in the upgrade's Authorization header.
    const mayPublish = authorized(req.headers, this.ctx.settings);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsSession(this.ctx, ws, socket as Socket, channel, user, mayPublish);
      void session.open(since);
    });
  }

  close(): void {
    this.wss.close();
  }
}
