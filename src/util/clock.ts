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

/** Sleeps until the monotonic time `atMs`. */
export function sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
  return sleep(atMs - monoMs(), signal);
}
