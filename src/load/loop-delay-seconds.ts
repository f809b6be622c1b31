import { monitorEventLoopDelay } from "node:perf_hooks";
import { BUCKET_MS } from "../run-model/timeline.js";
import { monoMs } from "../util/clock.js";

const NS_PER_MS = 1e6;

/**
 * This process's event-loop delay p99 for each second of a run's timeline
 * (second i starts at `startMs + i s`), for the timeline's generator-health
 * series. Separate from the window's monitor (loop-delay.ts), which is
 * reset at the start of the measured window.
 */
export interface LoopDelaySeconds {
  /** The seconds so far; null for a second without a sample. */
  stop(): (number | null)[];
}

/** `onBoundary(k)` runs at each boundary k >= 1 (the start of second k), after second k - 1 closed. */
export function startLoopDelaySeconds(
  startMs: number,
  buckets: number,
  onBoundary: (k: number) => void = () => {},
): LoopDelaySeconds {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const seconds: (number | null)[] = new Array(buckets).fill(null);
  let next = 0;
  let timer: NodeJS.Timeout | null = null;
  const close = (index: number) => {
    if (index >= 0 && index < buckets) {
      seconds[index] = histogram.count > 0 ? histogram.percentile(99) / NS_PER_MS : null;
    }
    histogram.reset();
  };
  const schedule = () => {
    if (next > buckets) return;
    timer = setTimeout(
      () => {
        // Boundary `next` ends second next - 1 (boundary 0 only starts the first one).
        close(next - 1);
        if (next > 0 && next < buckets) onBoundary(next);
        next++;
        schedule();
      },
      Math.max(0, startMs + next * BUCKET_MS - monoMs()),
    );
  };
  schedule();
  return {
    stop() {
      if (timer) clearTimeout(timer);
      // The second in progress ends now.
      close(next - 1);
      histogram.disable();
      return seconds;
    },
  };
}
