import type { PollDialect } from "./dialect.js";
import { PollClientBase } from "./poll-base.js";
import { REFERENCE_POLL } from "./reference-wire.js";
import { type ClientOptions, numberSetting, type TransportClient } from "./types.js";

/**
 * Long polling: each answer is followed at once by the next request with the
 * new cursor. Against the reference server the first request is a short
 * poll (the base class sends it): it answers at once with the current
 * cursor, or with what followed `since` on a resume, so "ready" means the
 * first answer as for short polling instead of waiting out a hold on a quiet
 * channel. A server without short polls holds the first request too (see
 * PollDialect.first).
 */
export class LongPollClient extends PollClientBase {
  readonly protocol = "long-poll" as const;
  private immediate: NodeJS.Immediate | undefined;
  private readonly next = (): void => {
    this.immediate = undefined;
    this.pollOnce("long");
  };

  constructor(options: ClientOptions, dialect: PollDialect = REFERENCE_POLL) {
    // The scenario's `longPoll.timeout`: how long the server may hold a poll.
    const holdMs = numberSetting(options, "timeoutMs");
    super(options, dialect, holdMs + options.requestTimeoutMs);
    // The server takes seconds with at most three decimals.
    this.timeoutSeconds = String(Math.round(holdMs) / 1000);
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

export function createLongPollClient(
  options: ClientOptions,
  dialect?: PollDialect,
): TransportClient {
  return new LongPollClient(options, dialect);
}
