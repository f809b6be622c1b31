import type { SubscriberReport } from "../../run-model/shard-report.js";

/**
 * Slow consumers (`clients.slow`), a subscriber's side: whether it is slow,
 * a fast one's worst delivery, when a slow one was cut. Its report carries
 * them to the slow-consumers measure (measures/slow-consumers.ts).
 */

/** What a subscriber keeps for the slow-consumer rows: a few numbers, set off the hot path. */
export class SlowConsumerWatch {
  /** Worst delivery latency of a message in the window (ms); fast clients only. */
  worstMs = 0;
  /** When the server cut this (slow) client, monotonic ms; null: never. */
  cutAtMs: number | null = null;

  constructor(readonly slow: boolean) {}

  /** A delivery in the window took `latencyMs`. */
  delivered(latencyMs: number): void {
    if (!this.slow && latencyMs > this.worstMs) this.worstMs = latencyMs;
  }

  /** The connection broke: from the server's side unless the client's own watchdog gave up. */
  broke(reason: string, nowMs: number): void {
    if (this.slow && this.cutAtMs === null && !reason.includes("client watchdog")) {
      this.cutAtMs = nowMs;
    }
  }

  /** Its fields of the subscriber's report. */
  report(): Pick<SubscriberReport, "slow" | "worstLatencyMs" | "cutAtMs"> {
    return { slow: this.slow, worstLatencyMs: this.worstMs, cutAtMs: this.cutAtMs };
  }
}
