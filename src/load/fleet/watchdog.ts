import type { Clock, TimerHandle } from "../../util/clock.js";
import type { Subscriber } from "./subscriber.js";

/** How often the client-side watchdog looks for silent connections. */
export const WATCHDOG_SCAN_MS = 250;
/**
 * A watchdog scan this late means this process itself was not running
 * (SIGSTOP, a long GC pause), not that the server went silent.
 */
export const PAUSE_DETECT_MS = WATCHDOG_SCAN_MS * 4;

/**
 * The client-side watchdog of one shard: every WATCHDOG_SCAN_MS each
 * subscriber checks whether its streaming connection has been silent for
 * longer than the limit, and breaks it if so (subscriber.ts). A late scan
 * means the silence was this process's own: it counts only from then on.
 */
export class SilenceWatchdog {
  private readonly timer: TimerHandle;
  private lastScanMs = 0;
  private resumedAtMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly subscribers: readonly Pick<Subscriber, "checkSilence">[],
    /** Silence longer than this means the connection is dead. */
    private readonly limitMs: number,
  ) {
    this.timer = clock.setInterval(() => this.scan(), WATCHDOG_SCAN_MS);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
  }

  private scan(): void {
    const now = this.clock.now();
    // A late scan means the silence was ours, not the server's: it counts only from now on.
    if (this.lastScanMs > 0 && now - this.lastScanMs > PAUSE_DETECT_MS) this.resumedAtMs = now;
    this.lastScanMs = now;
    for (const subscriber of this.subscribers) {
      subscriber.checkSilence(now, this.resumedAtMs, this.limitMs);
    }
  }
}
