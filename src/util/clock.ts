/**
 * Monotonic time in milliseconds (float) from CLOCK_MONOTONIC, which on Linux
 * is the same clock in every process on the host: the publisher's stamp and a
 * subscriber's receive time in another process can be subtracted directly.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Resolves after `ms`, or at once (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Sleeps until the monotonic time `atMs`, and never wakes before it. */
export async function sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
  await sleep(atMs - monoMs(), signal);
  // Timers run on the event loop's millisecond clock and can fire up to a millisecond early
  // on this one: a fault due at 20 s must not land in second 19 of the timeline.
  while (!signal?.aborted && monoMs() < atMs) await new Promise((resolve) => setImmediate(resolve));
}

/** A pending timer of a `Clock`; only that clock can cancel it. */
export type TimerHandle = object;

/**
 * Time and timers for code whose decisions depend on them (reconnect
 * backoff, watchdogs), so a test can drive them with a manual clock instead
 * of waiting. `now()` is on the `monoMs()` scale.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(timer: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(timer: TimerHandle): void;
}

export const realClock: Clock = {
  now: monoMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as NodeJS.Timeout),
};
