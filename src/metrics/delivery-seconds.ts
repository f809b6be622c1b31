/**
 * Deliveries of measured messages, second by second from the start of the
 * measured window: how many arrived in each second (the delivery rate), and
 * the latency of the messages scheduled in each second (the latency trend).
 * A server that keeps up delivers at the publish rate with a flat latency;
 * one that falls behind delivers less and later, second after second.
 *
 * Sums and counts, not percentiles, so shards' seconds add up exactly.
 */
export interface DeliverySecondsReport {
  /** Deliveries received in second k of the window (the drain's seconds follow). */
  received: number[];
  /** Latency sum (ms) and count of messages scheduled in second k. */
  latencySumMs: number[];
  latencyCount: number[];
}

const MS_PER_SECOND = 1000;

export class DeliverySeconds {
  private readonly report: DeliverySecondsReport = {
    received: [],
    latencySumMs: [],
    latencyCount: [],
  };

  /** `originMs`: the start of the measured window (monotonic ms). */
  constructor(private readonly originMs: number) {}

  /** One first receipt of a measured message. Hot path: a few array writes. */
  record(receivedMs: number, scheduledMs: number, latencyMs: number): void {
    const { received, latencySumMs, latencyCount } = this.report;
    add(received, this.secondOf(receivedMs), 1);
    const k = this.secondOf(scheduledMs);
    add(latencySumMs, k, latencyMs);
    add(latencyCount, k, 1);
  }

  toJSON(): DeliverySecondsReport {
    return this.report;
  }

  private secondOf(ms: number): number {
    return Math.floor((ms - this.originMs) / MS_PER_SECOND);
  }
}

function add(series: number[], k: number, value: number): void {
  if (k < 0) return;
  while (series.length <= k) series.push(0);
  series[k] = (series[k] as number) + value;
}

/** Second by second sums over shards. */
export function mergeDeliverySeconds(
  reports: readonly (DeliverySecondsReport | undefined)[],
): DeliverySecondsReport {
  const merged: DeliverySecondsReport = { received: [], latencySumMs: [], latencyCount: [] };
  for (const report of reports) {
    if (report === undefined) continue;
    for (const key of ["received", "latencySumMs", "latencyCount"] as const) {
      report[key].forEach((value, k) => {
        add(merged[key], k, value);
      });
    }
  }
  return merged;
}

/** Mean latency of the messages scheduled in each second of the window; null for a second without any. */
export function meanLatencyPerSecond(
  seconds: DeliverySecondsReport,
  windowSeconds: number,
): (number | null)[] {
  return Array.from({ length: Math.floor(windowSeconds) }, (_, k) => {
    const count = seconds.latencyCount[k] ?? 0;
    return count > 0 ? (seconds.latencySumMs[k] ?? 0) / count : null;
  });
}

/**
 * Mean latency of the first and the last third of the window's seconds, or
 * null when the window is too short to have thirds (under 3 s) or a third
 * saw no message.
 */
export function latencyThirds(
  seconds: DeliverySecondsReport,
  windowSeconds: number,
): { firstMs: number; lastMs: number } | null {
  const n = Math.floor(windowSeconds);
  if (n < 3) return null;
  const third = Math.floor(n / 3);
  const mean = (from: number, to: number): number | null => {
    let sum = 0;
    let count = 0;
    for (let k = from; k < to; k++) {
      sum += seconds.latencySumMs[k] ?? 0;
      count += seconds.latencyCount[k] ?? 0;
    }
    return count > 0 ? sum / count : null;
  };
  const firstMs = mean(0, third);
  const lastMs = mean(n - third, n);
  return firstMs === null || lastMs === null ? null : { firstMs, lastMs };
}
