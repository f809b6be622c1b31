import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { errorText } from "../../src/shared/errors.js";
import type { Gap } from "../../src/shared/protocol.js";
import { authorized } from "../access.js";
import type { LiveConnection, ServerContext } from "../context.js";
import { fetchAnswer, MemberConnection, notifyFrame } from "../fanout.js";
import {
  checkJsonDepth,
  HttpError,
  parseChannel,
  parseCursor,
  parseIdempotencyKey,
  parseUser,
  refuseUpgrade,
} from "../http.js";
import type { Delivery, Membership, Subscriber } from "../hub.js";
import { TickCorkedWriter } from "../wire.js";
import { WriteDeadline } from "../write-guard.js";
import type { MountedTransport, RouteMatch } from "./types.js";

/** Heartbeats a client may leave unanswered before it is dropped. */
const MAX_MISSED_HEARTBEATS = 3;
const PING_FRAME = Buffer.from('{"type":"ping"}');
const PONG_FRAME = Buffer.from('{"type":"pong"}');
/** How long a shutdown close handshake may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** RFC 6455 close codes used here. */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_TOO_BIG = 1009;

const CLOSE_REASONS: Record<number, string> = {
  [CLOSE_UNSUPPORTED_DATA]: "unsupported data",
  [CLOSE_POLICY_VIOLATION]: "policy violation",
  [CLOSE_TOO_BIG]: "message too big",
  1011: "internal error",
};

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

class WsSession implements Subscriber, LiveConnection {
  private membership: Membership | null = null;
  private member: MemberConnection | null = null;
  /**
   * The last message id written to the socket: the hub's count moves on for
   * offers that find the socket closing, and a member's unread bookkeeping
   * must count those as not sent.
   */
  private sentId = 0;
  private missedHeartbeats = 0;
  private closed = false;
  /** A frame was refused: later frames are ignored, the close waits for the acks in flight. */
  private failed = false;
  /** Publishes taken and not yet acknowledged (or refused). */
  private publishesInFlight = 0;
  private closeAfterAcks: (() => void) | null = null;
  /** permessage-deflate was negotiated: every frame goes through ws, which compresses it. */
  private readonly deflate: boolean;
  /** Deliveries go to the raw socket (see `deliver`); ws writes its own frames there too. */
  private readonly writer: TickCorkedWriter;
  /** Timed on the raw socket: ws writes straight to it and has no 'drain' of its own. */
  private readonly deadline: WriteDeadline;

  constructor(
    private readonly ctx: ServerContext,
    private readonly ws: WebSocket,
    socket: Socket,
    private readonly channel: string,
    private readonly user: string | null,
    private readonly mayPublish: boolean,
  ) {
    this.writer = new TickCorkedWriter(socket);
    this.deflate = ws.extensions.includes("permessage-deflate");
    this.deadline = new WriteDeadline(socket, ctx.settings.writeTimeoutMs, () => {
      ctx.metrics.recordWriteTimeout();
      ws.terminate();
    });
    ws.on("message", (data, isBinary) => this.onFrame(data, isBinary));
    ws.on("pong", () => {
      this.missedHeartbeats = 0;
    });
    ws.on("close", () => this.onClose());
    // Errors (bad frames, resets) are followed by "close"; ws already sent the right close code.
    ws.on("error", () => {});
  }

  async open(since: number | null): Promise<void> {
    const { ctx, channel, user } = this;
    ctx.connectionsOf("websocket").add(this);
    ctx.touchPresence(channel, user);
    if (user !== null) ctx.presenceEvents?.joined(channel, user);
    this.member = MemberConnection.open(ctx, channel, user, since);
    try {
      // Tiered: a returning member hears how much it missed before the missed messages come.
      const unread = await this.member?.unreadFrame();
      if (unread) this.send(unread);
      // Read: the subscriber fetches what it has not read, so nothing is replayed to it here.
      const read = ctx.settings.fanout === "read";
      if (read) this.send(await notifyFrame(ctx, channel));
      const membership = await ctx.hub.join(channel, this, read ? null : since);
      if (this.closed) {
        ctx.hub.leave(membership);
        this.member?.close(this.sentId);
      } else {
        this.membership = membership;
      }
    } catch (error) {
      this.member?.close(0);
      this.member = null;
      this.fail(1011, `subscribe failed: ${String(error)}`);
    }
  }

  /**
   * The message's frame, header included, was built once for every
   * subscriber; it goes straight to the socket, corked for the tick. ws has
   * no public way to send a prebuilt frame, and needs none: without
   * per-message deflate its sender writes synchronously to the same socket,
   * so frames keep their order, and a server's frames are never masked.
   */
  deliver(delivery: Delivery): void {
    // The common case in a few field reads; the full check when the socket is backed up.
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.writer.bufferedBytes > 0 && !this.writable()) return;
    // A deflate connection's frames are compressed by ws, in its order: all go through it.
    if (this.deflate) this.ws.send(delivery.wsFrame, { binary: false });
    else this.writer.write(delivery.wsWireFrame);
    this.deadline.afterWrite();
    this.ctx.metrics.countOut("websocket", 1, delivery.wsFrame.length);
    this.sentId = delivery.id;
  }

  notify(delivery: Delivery): void {
    this.send(delivery.notifyFrame);
  }

  presence(frame: Buffer): void {
    this.send(frame);
  }

  gap(gap: Gap): void {
    this.send(Buffer.from(JSON.stringify({ type: "gap", ...gap })));
  }

  backlog(): Promise<void> | null {
    return this.closed ? null : this.deadline.drained();
  }

  heartbeat(): void {
    if (this.missedHeartbeats >= MAX_MISSED_HEARTBEATS) {
      this.ctx.metrics.recordHeartbeatTimeout();
      this.ws.terminate();
      return;
    }
    // Presence follows liveness: only a client that answered the last heartbeat stays present.
    if (this.missedHeartbeats === 0) this.ctx.touchPresence(this.channel, this.user);
    this.missedHeartbeats++;
    this.ws.ping();
    this.send(PING_FRAME);
  }

  shutdown(): void {
    this.ws.close(CLOSE_GOING_AWAY, "server shutting down");
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  drop(): void {
    this.ws.terminate();
  }

  /** Sends a text frame unless the client stopped reading: then it is cut off, not buffered for. */
  private send(frame: Buffer): boolean {
    if (!this.writable()) return false;
    this.ws.send(frame, { binary: false });
    this.deadline.afterWrite();
    this.ctx.metrics.countOut("websocket", 0, frame.length);
    return true;
  }

  private writable(): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > this.ctx.settings.maxBufferedBytes) {
      this.ws.terminate();
      return false;
    }
    return true;
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    // Any frame proves the client is alive, as a pong would.
    this.missedHeartbeats = 0;
    // Frames that arrived in the same read as a refused one: not taken, not stored.
    if (this.failed) return;
    if (isBinary) {
      this.fail(CLOSE_UNSUPPORTED_DATA, "binary frames are not supported; send JSON text frames");
      return;
    }
    const bytes = asBuffer(data);
    let frame: unknown;
    try {
      checkJsonDepth(bytes, this.ctx.settings.maxBodyDepth, "frames");
    } catch (error) {
      // Nesting is a size, as far as what the server will store goes.
      this.fail(CLOSE_TOO_BIG, (error as Error).message);
      return;
    }
    try {
      frame = JSON.parse(bytes.toString());
    } catch (error) {
      this.fail(CLOSE_UNSUPPORTED_DATA, `frames must be JSON: ${(error as Error).message}`);
      return;
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      this.fail(CLOSE_UNSUPPORTED_DATA, 'frames must be JSON objects with a "type"');
      return;
    }
    const fields = frame as Record<string, unknown>;
    switch (fields.type) {
      case "ping":
        this.send(PONG_FRAME);
        return;
      case "pong":
        return;
      case "publish":
        this.publish(fields);
        return;
      case "fetch":
        this.fetch(fields);
        return;
      default:
        this.fail(
          CLOSE_UNSUPPORTED_DATA,
          `unknown frame type ${JSON.stringify(fields.type) ?? "(missing)"}; expected one of publish, fetch, ping, pong`,
        );
    }
  }

  /** `{"type":"fetch","since":N}`: what the channel holds after N, as one batch frame. */
  private fetch(fields: Record<string, unknown>): void {
    const since = fields.since;
    if (typeof since !== "number" || !Number.isSafeInteger(since) || since < 0) {
      this.fail(
        CLOSE_POLICY_VIOLATION,
        `fetch "since" must be a non-negative integer message id, found ${JSON.stringify(since) ?? "nothing"}`,
      );
      return;
    }
    fetchAnswer(this.ctx, this.channel, since).then(
      ({ frame, answer }) => {
        if (this.send(frame)) this.ctx.metrics.countOut("websocket", answer.jsons.length, 0);
      },
      (error: unknown) => {
        this.send(
          Buffer.from(JSON.stringify({ type: "error", error: `fetch failed: ${String(error)}` })),
        );
      },
    );
  }

  private publish(fields: Record<string, unknown>): void {
    const ref = fields.ref ?? null;
    if (ref !== null && typeof ref !== "string" && typeof ref !== "number") {
      this.fail(
        CLOSE_POLICY_VIOLATION,
        `publish "ref" must be a string or a number, found ${typeof ref}`,
      );
      return;
    }
    if (!("body" in fields)) {
      this.fail(CLOSE_POLICY_VIOLATION, 'publish frames need a "body"');
      return;
    }
    let key: string | undefined;
    try {
      key = parseIdempotencyKey(fields.key, 'publish "key"');
    } catch (error) {
      this.fail(CLOSE_POLICY_VIOLATION, (error as Error).message);
      return;
    }
    if (!this.mayPublish) {
      // Refused, not closed: the socket may still subscribe.
      this.send(
        Buffer.from(
          JSON.stringify({
            type: "error",
            ref,
            error:
              "publish needs the server's token: open the WebSocket with Authorization: Bearer <token>",
          }),
        ),
      );
      return;
    }
    this.publishesInFlight++;
    this.ctx.broker.publish(this.channel, fields.body, key).then(
      (message) => {
        this.ctx.metrics.messagesIn++;
        this.send(Buffer.from(JSON.stringify({ type: "ack", ref, id: message.id })));
        this.publishSettled();
      },
      (error: unknown) => {
        const reason = errorText(error);
        this.send(
          Buffer.from(JSON.stringify({ type: "error", ref, error: `publish failed: ${reason}` })),
        );
        this.publishSettled();
      },
    );
  }

  private publishSettled(): void {
    this.publishesInFlight--;
    if (this.publishesInFlight === 0) this.closeAfterAcks?.();
  }

  /**
   * Tells the client what went wrong, then closes with `code`, once every
   * publish taken before the bad frame is acknowledged: a message that was
   * stored is always acknowledged, so a publisher never sends it again.
   */
  private fail(code: number, error: string): void {
    if (this.failed) return;
    this.failed = true;
    this.send(Buffer.from(JSON.stringify({ type: "error", error })));
    const close = () => {
      this.closeAfterAcks = null;
      // Close reasons are limited to 123 bytes; the error frame carries the full text.
      this.ws.close(code, CLOSE_REASONS[code] ?? "error");
      this.closed = true;
    };
    if (this.publishesInFlight === 0) close();
    else this.closeAfterAcks = close;
  }

  private onClose(): void {
    this.closed = true;
    this.deadline.clear();
    // Without a membership the join is still under way: open() settles the member's books.
    if (this.membership) {
      this.ctx.hub.leave(this.membership);
      this.member?.close(this.sentId);
    }
    if (this.user !== null) this.ctx.presenceEvents?.left(this.channel, this.user);
    this.ctx.connectionsOf("websocket").delete(this);
  }
}

/** ws hands text frames over as one Buffer; fragments and ArrayBuffers are joined or wrapped. */
function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
