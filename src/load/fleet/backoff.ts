import type { ReconnectPolicy } from "../../scenario/types.js";

/**
 * Delay before reconnect attempt `attempt` (1 for the first after a break):
 * exponential backoff capped at `maxDelayMs`, with jitter so that clients
 * broken at the same moment do not all come back at the same moment: `full`
 * spreads the herd uniformly over [0, delay], `equal` over [delay/2, delay].
 * `firstDelayMs` replaces `initialDelayMs` (SSE: the server's `retry:`).
 */
/**
 * How much later than told a client comes back to a full server, at most,
 * as a share of the wait: a crowd refused together is spread out again.
 */
export const ADMISSION_JITTER = 0.25;

/**
 * Delay before trying a full server again that said when (503 `Retry-After`,
 * WebSocket 1013): the wait told, never less, plus up to ADMISSION_JITTER of
 * it at random. Replaces the backoff: retrying sooner only adds refusals.
 */
export function admissionDelayMs(toldMs: number, random: () => number): number {
  return toldMs * (1 + ADMISSION_JITTER * random());
}

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
