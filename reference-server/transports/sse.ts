import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gap } from "../../src/shared/protocol.js";
import type { LiveConnection, ServerContext } from "../context.js";
import { parseCursor, parseUser } from "../http.js";
import type { Delivery, Membership, Subscriber } from "../hub.js";
import { WriteDeadline } from "../write-guard.js";

const PING_FRAME = Buffer.from(": ping\n\n");

/**
 * `GET /api/stream/C`: a `text/event-stream` of the channel's messages,
 * resuming after `Last-Event-ID` (header, as browsers send it on reconnect)
 * or `?lastEventId=` (for a first connection that already has a cursor).
 */
export async function handleSse(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  channel: string,
  query: URLSearchParams,
): Promise<void> {
  const header = req.headers["last-event-id"];
  const since =
    parseCursor(typeof header === "string" ? header.trim() : null, "Last-Event-ID header") ??
    parseCursor(query.get("lastEventId"), "lastEventId");
  const user = parseUser(query.get("user"));
  ctx.admission.admitSubscriber();
  ctx.touchPresence(channel, user);

  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    // Proxies such as nginx would otherwise buffer the stream.
    "x-accel-buffering": "no",
  });
  req.socket.setNoDelay(true);
  const stream = new SseStream(ctx, res, channel, user);
  stream.write(Buffer.from(`retry: ${ctx.settings.sseRetryMs}\n\n`));
  await stream.open(since);
}

class SseStream implements Subscriber, LiveConnection {
  private membership: Membership | null = null;
  private closed = false;
  private readonly deadline: WriteDeadline;

  constructor(
    private readonly ctx: ServerContext,
    private readonly res: ServerResponse,
    private readonly channel: string,
    private readonly user: string | null,
  ) {
    this.deadline = new WriteDeadline(res, ctx.settings.writeTimeoutMs, () => res.destroy());
  }

  async open(since: number | null): Promise<void> {
    if (this.res.socket?.destroyed !== false) return;
    this.ctx.connections.sse.add(this);
    this.res.once("close", () => this.onClose());
    try {
      const membership = await this.ctx.hub.join(this.channel, this, since);
      if (this.closed) this.ctx.hub.leave(membership);
      else this.membership = membership;
    } catch (error) {
      // A stream closed meanwhile (client gone, shutdown) has nobody to tell.
      if (!this.closed) {
        process.stderr.write(`sse on ${this.channel}: subscribe failed: ${String(error)}\n`);
      }
      this.res.destroy();
    }
  }

  deliver(delivery: Delivery): void {
    if (this.write(delivery.sseFrame)) this.ctx.metrics.messagesOut.sse++;
  }

  backlog(): Promise<void> | null {
    return this.closed ? null : this.deadline.drained();
  }

  gap(gap: Gap): void {
    this.write(
      Buffer.from(`event: gap\ndata: {"type":"gap","from":${gap.from},"to":${gap.to}}\n\n`),
    );
  }

  heartbeat(): void {
    this.write(PING_FRAME);
    this.ctx.touchPresence(this.channel, this.user);
  }

  shutdown(): void {
    this.res.end();
  }

  drop(): void {
    this.res.destroy();
  }

  /** Writes unless the client stopped reading: then it is cut off rather than buffered for. */
  write(frame: Buffer): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > this.ctx.settings.maxBufferedBytes) {
      this.res.destroy();
      return false;
    }
    this.res.write(frame);
    this.deadline.afterWrite();
    this.ctx.metrics.bytesOut.sse += frame.length;
    return true;
  }

  private onClose(): void {
    this.closed = true;
    this.deadline.clear();
    if (this.membership) this.ctx.hub.leave(this.membership);
    this.ctx.connections.sse.delete(this);
  }
}
