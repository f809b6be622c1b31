import type { SlowConsumerResult } from "../../metrics/types.js";
import type { SubscriberReport } from "../../run-model/shard-report.js";

/**
 * Slow consumers (`clients.slow`): some clients read at a trickle among fast
 * ones, and the question the rows answer is the one users ask of a server:
 * do the fast ones get stuck behind the slow ones, what does a slow one
 * cost the server, and does the server cut it loose (and when)?
 */

/** A fast client whose worst delivery took longer than this was stuck (the rival's question). */
export const STUCK_MS = 100;

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

/**
 * The rows, from every subscriber's report and the delivery counts of the
 * slow ones. `measureStartMs`: cut times are given from the window's start.
 * `serverRssGrowthBytes`: the servers' resident memory at the window's end
 * minus at its start (null when not sampled).
 */
export function slowConsumerResult(
  subscribers: readonly SubscriberReport[],
  slowCounts: { expected: number; delivered: number },
  measureStartMs: number,
  serverRssGrowthBytes: number | null,
  /** When the servers cut a stream for its write timeout (monotonic ms); undefined: not known. */
  writeTimeoutsMs: readonly number[] | undefined,
): SlowConsumerResult | null {
  let slowClients = 0;
  let fastClients = 0;
  let fastStuck = 0;
  let fastWorstMs = 0;
  let cut = 0;
  let firstCutMs: number | null = null;
  for (const s of subscribers) {
    if (s.slow === undefined) continue;
    if (s.slow) {
      slowClients++;
      if (s.cutAtMs !== null && s.cutAtMs !== undefined) {
        cut++;
        const atMs = s.cutAtMs - measureStartMs;
        if (firstCutMs === null || atMs < firstCutMs) firstCutMs = atMs;
      }
      continue;
    }
    fastClients++;
    const worst = s.worstLatencyMs ?? 0;
    if (worst > STUCK_MS) fastStuck++;
    if (worst > fastWorstMs) fastWorstMs = worst;
  }
  if (slowClients === 0) return null;
  // The server's own word where it gives it: a slow client rarely sees the cut,
  // since the kernel still sends what it holds, at the client's pace, before the close.
  if (writeTimeoutsMs !== undefined) {
    cut = Math.max(cut, writeTimeoutsMs.length);
    for (const atMs of writeTimeoutsMs) {
      const fromStart = atMs - measureStartMs;
      if (firstCutMs === null || fromStart < firstCutMs) firstCutMs = fromStart;
    }
  }
  return {
    slowClients,
    fastClients,
    fastStuck,
    fastWorstMs,
    slowExpected: slowCounts.expected,
    slowDelivered: slowCounts.delivered,
    cut,
    firstCutMs,
    // An upper bound on what the slow clients hold only while the servers' RSS grew: a
    // shrinking RSS (the collector gave back more than they took) bounds nothing.
    serverRssPerSlowClient:
      serverRssGrowthBytes === null || serverRssGrowthBytes <= 0
        ? null
        : Math.round(serverRssGrowthBytes / slowClients),
  };
}
