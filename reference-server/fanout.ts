/**
 * The parts of the read and tiered fan-out strategies that a connection
 * does itself (the hub does the rest): a member's unread counter taken when
 * it comes back and settled when it leaves, and the fetch a notified
 * subscriber sends.
 */
import type { MemberReturn } from "./broker/types.js";
import type { ServerContext } from "./context.js";
import {
  type PollAnswer,
  pollAnswerJson,
  pollResponse,
  readPollPage,
} from "./transports/short-poll.js";

/**
 * Tiered fan-out, one connection of one member: online from open, offline
 * at close, with what it was not sent counted as unread.
 */
export class MemberConnection {
  private readonly online: Promise<MemberReturn | null>;
  /** What the client had when it came: its cursor, or the channel's last id for "from now". */
  private floorId = 0;

  private constructor(
    private readonly ctx: ServerContext,
    private readonly channel: string,
    private readonly user: string,
    since: number | null,
  ) {
    this.online = ctx.broker.memberOnline(channel, user).then((returned) => {
      this.floorId = since ?? returned?.lastId ?? 0;
      return returned;
    });
    // close() reports failures; this only keeps an early one from going unhandled.
    this.online.catch(() => {});
  }

  /** Tracks a member connection when the server counts unread messages, else null. */
  static open(
    ctx: ServerContext,
    channel: string,
    user: string | null,
    since: number | null,
  ): MemberConnection | null {
    if (ctx.settings.fanout !== "tiered" || user === null) return null;
    return new MemberConnection(ctx, channel, user, since);
  }

  /** `{"type":"unread",...}` for a member that came back, null for a user who is not a member. */
  async unreadFrame(): Promise<Buffer | null> {
    const returned = await this.online;
    if (returned === null) return null;
    return Buffer.from(`{"type":"unread","count":${returned.unread},"lastId":${returned.lastId}}`);
  }

  /** The connection closed after it was sent everything up to `lastSentId`. */
  close(lastSentId: number): void {
    this.online
      .then((returned) => {
        if (returned === null) return;
        return this.ctx.broker.memberOffline(
          this.channel,
          this.user,
          Math.max(lastSentId, this.floorId),
        );
      })
      .catch((error: unknown) => {
        process.stderr.write(
          `member ${this.user} on ${this.channel}: unread bookkeeping failed: ${String(error)}\n`,
        );
      });
  }
}

/** Read fan-out: `{"type":"notify","lastId":N}` with the channel's last id, for a new subscriber. */
export async function notifyFrame(ctx: ServerContext, channel: string): Promise<Buffer> {
  const { lastId } = await ctx.broker.read(channel, Number.MAX_SAFE_INTEGER, 0);
  return Buffer.from(`{"type":"notify","lastId":${lastId}}`);
}

/** The answer to `{"type":"fetch","since":N}`: one batch frame, shaped as a poll answer. */
export async function fetchAnswer(
  ctx: ServerContext,
  channel: string,
  since: number,
): Promise<{ frame: Buffer; answer: PollAnswer }> {
  const answer = pollResponse(since, await readPollPage(ctx, channel, since));
  return { frame: Buffer.from(`{"type":"batch",${pollAnswerJson(answer).slice(1)}`), answer };
}
