import type { IncomingMessage, ServerResponse } from "node:http";
import { type Gap, SSE_EVENT_PRESENCE } from "../../src/shared/protocol.js";
import type { LiveConnection, ServerContext } from "../context.js";
import type { Delivery, Subscriber } from "../delivery.js";
import { parseChannel, parseCursor, parseUser } from "../http.js";
import type { Membership } from "../hub.js";
import { TickCorkedWriter } from "../wire.js";
import { type Drainable, WriteDeadline } from "../write-guard.js";
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
  ctx.admission.admitSubscriber();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    // Proxies such as nginx would otherwise buffer the stream.
    "x-accel-buffering": "no",
  });
  req.socket.setNoDelay(true);
  const writer = new TickCorkedWriter(req.socket);
  const sink: EventSink = {
    // Events go to the socket directly (below), so its buffer is the one to watch.
    writable: req.socket,
    write: (frame) => res.write(frame),
    // Deliveries bypass the response object: the event, already framed as an
    // HTTP chunk once for every subscriber, goes straight to the socket.
    // `retry:` went through `write` first, so the headers are on the wire
    // before any of these bytes. A client without chunked encoding (HTTP/1.0)
    // gets the bare event, as the response would have sent it.
    writeEvent: (delivery) =>
      writer.write(res.chunkedEncoding ? delivery.sseHttpChunk : delivery.sseFrame),
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
  /** What the write deadline watches for backpressure ('drain', 'close'). */
  readonly writable: Drainable;
  write(frame: Buffer): void;
  /** A live or replayed message: its shared wire bytes, written corked for the tick. */
  writeEvent(delivery: Delivery): void;
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
  private readonly deadline: WriteDeadline;

  constructor(
    private readonly ctx: ServerContext,
    private readonly transport: string,
    private readonly sink: EventSink,
    private readonly channel: string,
    private readonly user: string | null,
  ) {
    this.deadline = new WriteDeadline(sink.writable, ctx.settings.writeTimeoutMs, () => {
      ctx.metrics.recordWriteTimeout();
      sink.destroy();
    });
  }

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
      // A stream closed meanwhile (client gone, shutdown) has nobody to tell.
      if (!this.closed) {
        process.stderr.write(
          `${this.transport} on ${this.channel}: subscribe failed: ${String(error)}\n`,
        );
      }
      this.sink.destroy();
    }
  }

  deliver(delivery: Delivery): void {
    if (!this.writable()) return;
    this.sink.writeEvent(delivery);
    this.deadline.afterWrite();
    this.ctx.metrics.countOut(this.transport, 1, delivery.sseFrame.length);
  }

  backlog(): Promise<void> | null {
    return this.closed ? null : this.deadline.drained();
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
    if (!this.writable()) return false;
    this.sink.write(frame);
    this.deadline.afterWrite();
    this.ctx.metrics.countOut(this.transport, 0, frame.length);
    return true;
  }

  private writable(): boolean {
    if (this.closed) return false;
    if (this.sink.bufferedBytes() > this.ctx.settings.maxBufferedBytes) {
      this.sink.destroy();
      return false;
    }
    return true;
  }

  private onClose(): void {
    this.closed = true;
    this.deadline.clear();
    if (this.membership) this.ctx.hub.leave(this.membership);
    if (this.user !== null) this.ctx.presenceEvents?.left(this.channel, this.user);
    this.ctx.connectionsOf(this.transport).delete(this);
  }
}
