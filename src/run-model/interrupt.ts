import { monoMs } from "../util/clock.js";

/**
 * The measured window of an interrupted run. A message has the drain time to
 * arrive, so at an interrupt only those scheduled at least that long before
 * it had their full chance: they are expected, and missing ones are lost.
 * Later ones are in flight: neither expected nor lost, counted apart.
 */
export interface InterruptedWindow {
  /** End of the part of the window whose messages are judged (expected, lost). */
  judgedEndMs: number;
  /** End of the messages that were scheduled but had no time to arrive; = judgedEndMs when none. */
  inFlightEndMs: number;
}

export function interruptedWindow(
  window: { startMs: number; endMs: number; drainMs: number },
  interruptedAtMs: number | null,
): InterruptedWindow {
  if (interruptedAtMs === null) return { judgedEndMs: window.endMs, inFlightEndMs: window.endMs };
  const scheduledUntilMs = Math.max(window.startMs, Math.min(window.endMs, interruptedAtMs));
  const judgedEndMs = Math.max(
    window.startMs,
    Math.min(scheduledUntilMs, interruptedAtMs - window.drainMs),
  );
  return { judgedEndMs, inFlightEndMs: scheduledUntilMs };
}

/** When `signal` aborted (monotonic ms), or null while it has not. */
export function interruptClock(signal: AbortSignal): { atMs(): number | null } {
  let atMs: number | null = signal.aborted ? monoMs() : null;
  signal.addEventListener(
    "abort",
    () => {
      atMs ??= monoMs();
    },
    { once: true },
  );
  return { atMs: () => atMs };
}
