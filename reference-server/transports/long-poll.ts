import type { ServerResponse } from "node:http";
import type { Gap } from "../../src/shared/protocol.js";
import type { LiveConnection, ServerContext } from "../context.js";
import type { Delivery, Subscriber } from "../delivery.js";
import {
  asHttpError,
  HttpError,
  parseChannel,
  parseCursor,
  parseUser,
  sendError,
} from "../http.js";
import type { Membership } from "../hub.js";
import { pollResponse, readPollPage, sendPoll } from "./short-poll.js";
import type { MountedTransport } from "./types.js";

const DEFAULT_TIMEOUT_S = 30;
const MAX_TIMEOUT_S = 120;

export function mountLongPoll(ctx: ServerContext): MountedTransport {
  return { request: (_req, res, route) => handleLongPoll(ctx, res, route.url.searchParams) };
}

/**
 * `GET /api/messages/poll?channel=C&since=ID&timeout=S`: answers at once when
 * messages after ID exist, otherwise holds the request until one is published
 * or S seconds pass.
 */
async function handleLongPoll(
  ctx: ServerContext,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const channel = parseChannel(query.get("channel"), "query");
  const since = parseCursor(query.get("since"), "since");
  const timeoutMs = parseTimeoutS(query.get("timeout")) * 1000;
  const user = parseUser(query.get("user"));
  ctx.admission.admitSubscriber();
  ctx.touchPresence(channel, user);

  const read =
    since === null ? await ctx.broker.read(channel, 0, 1) : await readPollPage(ctx, channel, since);
  // Without a cursor the poll waits for what is published from now on.
  const cursor = since ?? read.lastId;
  if (since !== null && (read.messages.length > 0 || read.gap)) {
    sendPoll(ctx, res, "long-poll", pollResponse(since, read));
    return;
  }
  if (timeoutMs === 0) {
    sendPoll(ctx, res, "long-poll", { jsons: [], cursor });
    return;
  }
  await new HeldPoll(ctx, res, channel, cursor, timeoutMs).hold();
}

function parseTimeoutS(raw: string | null): number {
  if (raw === null || raw === "") return DEFAULT_TIMEOUT_S;
  const value = /^\d{1,4}(\.\d{1,3})?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 0 && value <= MAX_TIMEOUT_S)) {
    throw new HttpError(
      400,
      `timeout must be a number of seconds from 0 to ${MAX_TIMEOUT_S}, found ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return value;
}

/**
 * A poll waiting for the channel to move past its cursor. It joins the hub
 * from the cursor, so a message published between the first read and the
 * subscription still wakes it; once woken it answers from history.
 */
class HeldPoll implements Subscriber, LiveConnection {
  private membership: Membership | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settled = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly res: ServerResponse,
    private readonly channel: string,
    private readonly since: number,
    private readonly timeoutMs: number,
  ) {}

  async hold(): Promise<void> {
    // A client that gives up (even during the first read) must not leave a subscription behind.
    if (this.res.socket?.destroyed !== false) return;
    this.res.once("close", () => this.release());
    this.ctx.connectionsOf("long-poll").add(this);
    this.timer = setTimeout(() => this.finish(false), this.timeoutMs);
    try {
      const membership = await this.ctx.hub.join(this.channel, this, this.since);
      if (this.settled) this.ctx.hub.leave(membership);
      else this.membership = membership;
    } catch (error) {
      this.release();
      throw error;
    }
  }

  deliver(_delivery: Delivery): void {
    this.finish(true);
  }

  gap(_gap: Gap): void {
    this.finish(true);
  }

  heartbeat(): void {}

  /** Server shutdown: answer now with nothing new, so the client simply polls again elsewhere. */
  shutdown(): void {
    this.finish(false);
  }

  /** The client sees its request fail (a reset), not an empty answer. */
  drop(): void {
    this.res.destroy();
  }

  private finish(woken: boolean): void {
    if (this.settled) return;
    this.release();
    if (!woken) {
      sendPoll(this.ctx, this.res, "long-poll", { jsons: [], cursor: this.since });
      return;
    }
    // Answer from history, not from the delivery that woke us: it batches
    // everything after the cursor and is never held by deliveryDelayMs again.
    readPollPage(this.ctx, this.channel, this.since).then(
      (read) => {
        if (!this.res.destroyed)
          sendPoll(this.ctx, this.res, "long-poll", pollResponse(this.since, read));
      },
      (error: unknown) => {
        const known = asHttpError(error);
        if (!known) {
          process.stderr.write(
            `long poll on ${this.channel}: history read failed: ${String(error)}\n`,
          );
        }
        sendError(this.res, known ?? new HttpError(500, "history read failed"));
      },
    );
  }

  private release(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.membership) this.ctx.hub.leave(this.membership);
    this.ctx.connectionsOf("long-poll").delete(this);
  }
}
