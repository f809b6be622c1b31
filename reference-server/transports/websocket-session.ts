// One WebSocket connection of the reference server: a subscriber of the
// hub on its channel (deliveries written straight to the socket, corked for
// the tick; heartbeats; presence and member bookkeeping) and, with the
// server's token, a publisher. The frames a client sends are read and
// checked by websocket-frames.ts; a bad one closes the session after any
// publish in flight is acknowledged.
import type { Socket } from "node:net";
import type { RawData, WebSocket } from "ws";
import { errorText } from "../../src/shared/errors.js";
import type { Gap } from "../../src/shared/protocol.js";
import type { LiveConnection, ServerContext } from "../context.js";
import type { Delivery, Subscriber } from "../delivery.js";
import { fetchAnswer, MemberConnection, notifyFrame } from "../fanout.js";
import type { Membership } from "../hub.js";
import { TickCorkedWriter } from "../wire.js";
import { WriteDeadline } from "../write-guard.js";
import {
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_REASONS,
  errorFrame,
  FrameError,
  fetchSince,
  publishKey,
  publishRef,
  readClientFrame,
  unknownFrameType,
} from "./websocket-frames.js";

/** Heartbeats a client may leave unanswered before it is dropped. */
const MAX_MISSED_HEARTBEATS = 3;
const PING_FRAME = Buffer.from('{"type":"ping"}');
const PONG_FRAME = Buffer.from('{"type":"pong"}');
/** How long a shutdown close handshake may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** One WebSocket: a subscriber of the hub, and a publisher when it holds the token. */
export class WsSession implements Subscriber, LiveConnection {
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
      this.fail(CLOSE_INTERNAL_ERROR, `subscribe failed: ${String(error)}`);
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
    try {
      const fields = readClientFrame(data, isBinary, this.ctx.settings.maxBodyDepth);
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
          this.fetch(fetchSince(fields));
          return;
        default:
          throw unknownFrameType(fields.type);
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.fail(error.code, error.message);
    }
  }

  /** `{"type":"fetch","since":N}`: what the channel holds after N, as one batch frame. */
  private fetch(since: number): void {
    fetchAnswer(this.ctx, this.channel, since).then(
      ({ frame, answer }) => {
        if (this.send(frame)) this.ctx.metrics.countOut("websocket", answer.jsons.length, 0);
      },
      (error: unknown) => {
        this.send(errorFrame(`fetch failed: ${String(error)}`));
      },
    );
  }

  /** Throws a FrameError for a malformed publish; one without the token is refused, not closed. */
  private publish(fields: Record<string, unknown>): void {
    const ref = publishRef(fields);
    const key = publishKey(fields);
    if (!this.mayPublish) {
      // Refused, not closed: the socket may still subscribe.
      this.send(
        errorFrame(
          "publish needs the server's token: open the WebSocket with Authorization: Bearer <token>",
          ref,
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
        this.send(errorFrame(`publish failed: ${errorText(error)}`, ref));
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
    this.send(errorFrame(error));
    const close = () => {
      this.closeAfterAcks = null;
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
