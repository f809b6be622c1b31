import { PollClientBase } from "./poll-base.js";
import type { ClientOptions, TransportClient } from "./types.js";

/**
 * Long polling: each answer is followed at once by the next request with the
 * new cursor. The first request is a short poll (the base class sends it):
 * it answers at once with the current cursor, or with what followed `since`
 * on a resume, so "ready" means the first answer as for short polling instead
 * of waiting out a hold on a quiet channel.
 */
export class LongPollClient extends PollClientBase {
  readonly protocol = "long-poll" as const;
  private readonly timeoutSeconds: string;
  private immediate: NodeJS.Immediate | undefined;
  private readonly next = (): void => {
    this.immediate = undefined;
    void this.pollOnce("longPoll", this.timeoutSeconds);
  };

  constructor(options: ClientOptions) {
    const timeoutMs = options.longPollTimeoutMs + options.requestTimeoutMs;
    super(options, { headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
    // The server takes seconds with at most three decimals.
    this.timeoutSeconds = String(Math.round(options.longPollTimeoutMs) / 1000);
  }

  protected scheduleNext(): void {
    // setImmediate, not a direct call: a stream of instant answers must not grow the stack.
    this.immediate = setImmediate(this.next);
  }

  protected cancelSchedule(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }
}

export function createLongPollClient(options: ClientOptions): TransportClient {
  return new LongPollClient(options);
}
