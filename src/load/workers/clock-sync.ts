/**
 * A worker's clock offset to the coordinator's (the publisher's) clock,
 * estimated NTP-style over the control connection, with its bound. Pure.
 *
 * One exchange: the worker sends its time t0, the coordinator answers with
 * its time t1 when it read the request, and the worker reads t3 when the
 * answer arrives. The coordinator's clock read t1 somewhere between t0 and
 * t3 on the worker's clock, so
 *
 *   offset = t1 - (t0 + t3) / 2      (coordinator minus worker)
 *
 * is wrong by at most half the round trip (t3 - t0), whatever the split of
 * the trip between the two directions: that half is the bound. Queueing only
 * lengthens a round trip, so the exchange with the shortest one (the minimum
 * RTT filter) holds the tightest bound. Exchanges repeat through the run and
 * only the recent ones count, so a drifting clock is followed. The result
 * judges the bounds (measures/workers.ts).
 */
export interface ClockSample {
  /** Worker's clock when the request left. */
  t0: number;
  /** Coordinator's clock when it read the request. */
  t1: number;
  /** Worker's clock when the answer arrived. */
  t3: number;
}

export interface ClockEstimate {
  /** Coordinator's clock minus the worker's, ms: add it to a worker time. */
  offsetMs: number;
  /** The estimate is within this many ms of the true offset: half the best round trip. */
  boundMs: number;
  /** Round trip of the exchange it came from, ms. */
  rttMs: number;
}

export function estimateFrom(sample: ClockSample): ClockEstimate {
  const rttMs = Math.max(0, sample.t3 - sample.t0);
  return { offsetMs: sample.t1 - (sample.t0 + sample.t3) / 2, boundMs: rttMs / 2, rttMs };
}

/** How many recent exchanges the minimum-RTT filter looks at: about half a minute at one a second. */
export const CLOCK_WINDOW = 32;

/** Keeps the recent exchanges and answers with the one of the shortest round trip. */
export class ClockFilter {
  private readonly recent: ClockEstimate[] = [];

  add(sample: ClockSample): void {
    this.recent.push(estimateFrom(sample));
    if (this.recent.length > CLOCK_WINDOW) this.recent.shift();
  }

  /** The best recent estimate; null before the first exchange. */
  best(): ClockEstimate | null {
    let best: ClockEstimate | null = null;
    for (const e of this.recent) if (best === null || e.rttMs < best.rttMs) best = e;
    return best;
  }
}
