import { performance } from "node:perf_hooks";
import type { PollDialect } from "./dialect.js";
import { PollClientBase } from "./poll-base.js";
import { REFERENCE_POLL } from "./reference-wire.js";
import { type ClientOptions, numberSetting, type TransportClient } from "./types.js";

/**
 * Short polling at a fixed rate: each request starts `intervalMs` (the
 * scenario's `shortPoll.interval`) after the previous one started. A slow answer makes the next request go out
 * at once, never two at a time and never a burst to catch up.
 */
export class ShortPollClient extends PollClientBase {
  readonly protocol = "short-poll" as const;
  private timer: NodeJS.Timeout | undefined;
  private lastStartMs = 0;
  private readonly intervalMs: number;
  // Bound once per client: the timer callback allocates nothing per poll.
  private readonly tick = (): void => {
    this.timer = undefined;
    this.lastStartMs = performance.now();
    this.pollOnce("short");
  };

  constructor(options: ClientOptions, dialect: PollDialect = REFERENCE_POLL) {
    super(options, dialect, options.requestTimeoutMs);
    this.intervalMs = numberSetting(options, "intervalMs");
  }

  override async connect(): Promise<void> {
    this.lastStartMs = performance.now();
    await super.connect();
  }

  protected scheduleNext(): void {
    const delayMs = this.lastStartMs + this.intervalMs - performance.now();
    this.timer = setTimeout(this.tick, Math.max(delayMs, 0));
  }

  protected cancelSchedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function createShortPollClient(
  options: ClientOptions,
  dialect?: PollDialect,
): TransportClient {
  return new ShortPollClient(options, dialect);
}
