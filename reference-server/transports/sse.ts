import type { IncomingMessage, ServerResponse } from "node:http";
import { type Gap, SSE_EVENT_PRESENCE } from "../../src/shared/protocol.js";
import type { LiveConnection, ServerContext } from "../context.js";
import { parseChannel, parseCursor, parseUser } from "../http.js";
import type { Delivery, Membership, Subscriber } from "../hub.js";
import type { MountedTransport, RouteMatch } from "./types.js";

const PING_FRAME = Buffer.from(": ping\n\n");
const PRESENCE_HEAD = Buffer.from(`event: ${SSE_EVENT_PRESENCE}\ndata: `);
const EVENT_END = Buffer.from("\n\n");

/**
 * `GET /api/stream/C` over HTTP/1.1: a `text/event-stream` of the channel's
 * messages, resuming after `Last-Event-ID` (header, as browsers send it on
 * reconnect) or `?lastEventId=` (for a first connection that already has a cursor).
 */
export function mountSse(ctx: ServerContext): MountedTransport {
  return {
    request: (req, res, route) => handleSse(ctx, req, res, route),
  };
}

async function handleSse(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteMatch,
): Promise<void> {
  const request = readStreamRequest(req.headers["last-event-id"], route);
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    // Proxies such as nginx would otherwise buffer the stream.
    "x-accel-buffering": "no",
  });
  req.socket.setNoDelay(true);
  const sink: EventSink = {
    write: (frame) => res.write(frame),
    bufferedBytes: () => res.writableLength,
    end: () => res.end(),
    destroy: () => res.destroy(),
    isGone: () => res.socket?.destroyed !== false,
    onClose: (listener) => res.once("close", listener),
  };
  await openEventStream(ctx, "sse", sink, request);
}

/** What an event-stream request asks for, parsed and validated (400 on bad input). */
export interface StreamRequest {
  channel: string;
  since: number | null;
  user: string | null;
}

export function readStreamRequest(
  lastEventIdHeader: string | string[] | undefined,
  route: RouteMatch,
): StreamRequest {
  const query = route.url.searchParams;
  return {
    channel: parseChannel(route.channel, "URL path"),
    since:
      parseCursor(
        typeof lastEventIdHeader === "string" ? lastEventIdHeader.trim() : null,
        "Last-Event-ID header",
      ) ?? parseCursor(query.get("lastEventId"), "lastEventId"),
    user: parseUser(query.get("user")),
  };
}

/** Where an event stream writes: an HTTP/1.1 response or an HTTP/2 stream. */
export interface EventSink {
  write(frame: Buffer): void;
  /** Bytes written but not yet sent: a client that stops reading makes this grow. */
  bufferedBytes(): number;
  end(): void;
  destroy(): void;
  /** The client went away before the stream opened. */
  isGone(): boolean;
  onClose(listener: () => void): void;
}

/**
 * Sends `retry:`, joins the channel (replaying history after `since`) and
 * streams until the client or the server ends it. Shared by SSE over
 * HTTP/1.1 and over HTTP/2: the events on the wire are the same.
 */
export async function openEventStream(
  ctx: ServerContext,
  transport: string,
  sink: EventSink,
  request: StreamRequest,
): Promise<void> {
  ctx.touchPresence(request.channel, request.user);
  const stream = new EventStream(ctx, transport, sink, request.channel, request.user);
  stream.write(Buffer.from(`retry: ${ctx.settings.sseRetryMs}\n\n`));
  await stream.open(request.since);
}

class EventStream implements Subscriber, LiveConnection {
  private membership: Membership | null = null;
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly transport: string,
    private readonly sink: EventSink,
    private readonly channel: string,
    private readonly user: string | null,
  ) {}

  async open(since: number | null): Promise<void> {
    if (this.sink.isGone()) return;
    this.ctx.connectionsOf(this.transport).add(this);
    this.sink.onClose(() => this.onClose());
    if (this.user !== null) this.ctx.presenceEvents?.joined(this.channel, this.user);
    try {
      const membership = await this.ctx.hub.join(this.channel, this, since);
      if (this.closed) this.ctx.hub.leave(membership);
      else this.membership = membership;
    } catch (error) {
      process.stderr.write(
        `${this.transport} on ${this.channel}: subscribe failed: ${String(error)}\n`,
      );
      this.sink.destroy();
    }
  }

  deliver(delivery: Delivery): void {
    if (this.write(delivery.sseFrame)) this.ctx.metrics.countOut(this.transport, 1, 0);
  }

  gap(gap: Gap): void {
    this.write(Buffer.from(`event: gap\ndata: ${JSON.stringify({ type: "gap", ...gap })}\n\n`));
  }

  /** `event: presence` with the frame's JSON (one line: the frame has no newline). */
  presence(frame: Buffer): void {
    this.write(Buffer.concat([PRESENCE_HEAD, frame, EVENT_END]));
  }

  heartbeat(): void {
    this.write(PING_FRAME);
    this.ctx.touchPresence(this.channel, this.user);
  }

  shutdown(): void {
    this.sink.end();
  }

  drop(): void {
    this.sink.destroy();
  }

  /** Writes unless the client stopped reading: then it is cut off rather than buffered for. */
  write(frame: Buffer): boolean {
    if (this.closed) return false;
    if (this.sink.bufferedBytes() > this.ctx.settings.maxBufferedBytes) {
      this.sink.destroy();
      return false;
    }
    this.sink.write(frame);
    this.ctx.metrics.countOut(this.transport, 0, frame.length);
    return true;
  }

  private onClose(): void {
    this.closed = true;
    if (this.membership) this.ctx.hub.leave(this.membership);
    if (this.user !== null) this.ctx.presenceEvents?.left(this.channel, this.user);
    this.ctx.connectionsOf(this.transport).delete(this);
  }
}
