import type { LiveConnection } from "./context.js";

/** Ticks aim to be this far apart; fewer when the interval is short. */
const TARGET_TICK_MS = 100;
/** More slices than this buy nothing: each tick would visit a handful of connections. */
const MAX_SLICES = 100;

export interface HeartbeatScheduler {
  stop(): void;
}

/**
 * Sends heartbeats spread over the interval instead of in one burst: the
 * interval is cut into N ticks and each tick visits one slice of the live
 * connections, so 20,000 sockets cost 200 writes every 300 ms rather than
 * 20,000 writes (and a latency spike) every 30 s.
 *
 * Each connection keeps its slice while it lives, so it is visited once per
 * interval, exactly `intervalMs` apart, as missed-heartbeat counting needs.
 * Newcomers get slices round-robin when the slices are rebuilt, at the start
 * of each interval; their first heartbeat comes within two intervals.
 *
 * `sources` returns the sets to visit (the live connections by transport);
 * a connection that left its set is skipped.
 */
export function startHeartbeats(
  sources: () => Iterable<ReadonlySet<LiveConnection>>,
  intervalMs: number,
): HeartbeatScheduler {
  const slices = sliceCount(intervalMs);
  let assigned = new Map<LiveConnection, number>();
  let buckets: { connection: LiveConnection; from: ReadonlySet<LiveConnection> }[][] = [];
  let nextSlice = 0;
  let tick = 0;

  const rebuild = () => {
    const kept = new Map<LiveConnection, number>();
    buckets = Array.from({ length: slices }, () => []);
    for (const set of sources()) {
      for (const connection of set) {
        let slice = assigned.get(connection);
        if (slice === undefined) {
          slice = nextSlice;
          nextSlice = (nextSlice + 1) % slices;
        }
        kept.set(connection, slice);
        buckets[slice]?.push({ connection, from: set });
      }
    }
    assigned = kept;
  };

  const timer = setInterval(() => {
    if (tick === 0) rebuild();
    for (const { connection, from } of buckets[tick] ?? []) {
      if (from.has(connection)) connection.heartbeat();
    }
    tick = (tick + 1) % slices;
  }, intervalMs / slices);

  return {
    stop() {
      clearInterval(timer);
      buckets = [];
      assigned.clear();
    },
  };
}

/** How many ticks one interval is cut into. */
export function sliceCount(intervalMs: number): number {
  return Math.max(1, Math.min(MAX_SLICES, Math.round(intervalMs / TARGET_TICK_MS)));
}
