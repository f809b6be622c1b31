/**
 * RTBENCH_TEST_CLOCK_SKEW_MS=250 moves this process's clock 250 ms ahead, as
 * if it ran on another host: tests prove with it that a worker's clock
 * offset is measured and corrected (workers/clock-sync.ts). Read once.
 */
const TEST_SKEW_MS = Number(process.env.RTBENCH_TEST_CLOCK_SKEW_MS) || 0;

/**
 * The coordinator's clock minus this host's (0 on the coordinator's host):
 * a worker's shards add it, so every time they take or report is on the
 * publisher's clock (workers/clock-sync.ts estimates it).
 */
let correctionMs = 0;

/**
 * This host's monotonic time in milliseconds (float), from CLOCK_MONOTONIC,
 * which on Linux is the same clock in every process on the host. Only clock
 * synchronisation wants it; everything else uses `monoMs()`.
 */
export function hostMonoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6 + TEST_SKEW_MS;
}

/**
 * Monotonic time in milliseconds on the run's clock: the publisher's stamp
 * and a subscriber's receive time in another process (on a worker, another
 * host) can be subtracted directly.
 */
export function monoMs(): number {
  return hostMonoMs() + correctionMs;
}

/** Sets the correction from this host's clock to the run's (the coordinator's). */
export function setClockCorrection(ms: number): void {
  correctionMs = ms;
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
