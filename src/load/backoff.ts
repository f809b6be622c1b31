import type { ReconnectPolicy } from "../scenario/types.js";

/**
 * Delay before reconnect attempt `attempt` (1 for the first after a break):
 * exponential backoff capped at `maxDelayMs`, with jitter so that clients
 * broken at the same moment do not all come back at the same moment: `full`
 * spreads the herd uniformly over [0, delay], `equal` over [delay/2, delay].
 * `firstDelayMs` replaces `initialDelayMs` (SSE: the server's `retry:`).
 */
export function backoffDelayMs(
  policy: ReconnectPolicy,
  attempt: number,
  random: () => number,
  firstDelayMs = policy.initialDelayMs,
): number {
  const exponential = firstDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  const delayMs = Math.min(policy.maxDelayMs, exponential);
  switch (policy.jitter) {
    case "none":
      return delayMs;
    case "full":
      return random() * delayMs;
    case "equal":
      return delayMs / 2 + (random() * delayMs) / 2;
  }
}
