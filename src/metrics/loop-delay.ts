import { monitorEventLoopDelay } from "node:perf_hooks";

export interface LoopDelayMonitor {
  /** p99 event-loop delay since start or the last reset, in ms; 0 before the first sample. */
  p99Ms(): number;
  reset(): void;
  stop(): void;
}

const NS_PER_MS = 1e6;

/**
 * Generator health: a generator whose own event loop lags delays every
 * timestamp it takes, so its latencies cannot be trusted (the result marks
 * them unreliable above the scenario's `generator.maxEventLoopDelay`).
 */
export function startLoopDelayMonitor(): LoopDelayMonitor {
  // 10 ms sampling: fine enough to see stalls that distort ms-scale latencies, cheap enough to leave on.
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    p99Ms() {
      if (histogram.count === 0) return 0;
      return histogram.percentile(99) / NS_PER_MS;
    },
    reset() {
      histogram.reset();
    },
    stop() {
      histogram.disable();
    },
  };
}
