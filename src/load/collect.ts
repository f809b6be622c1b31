import type { LoopDelayMonitor } from "../metrics/loop-delay.js";
import type { Clients } from "./clients-up.js";
import type { Environment } from "./environment.js";
import type { Observed } from "./observe.js";
import type { PublishRecord } from "./publisher.js";
import { heartbeatTimeouts } from "./servers.js";
import type { ShardReport, UnconfirmedPublishes } from "./shard-protocol.js";

/** How long the publishes still in flight at the end get to be answered. */
const PUBLISHER_IDLE_MS = 5000;

/** What the generator and the servers have to say once the clients stopped. */
export interface Collected {
  reports: ShardReport[];
  /** Shards that died or did not report: their clients are missing from the result. */
  missing: string[];
  /** The parent's own event-loop delay p99 over the window. */
  parentLoopDelayP99Ms: number;
  /** When the servers dropped clients for missing heartbeats (monotonic ms). */
  zombieTimeoutsMs: number[];
}

/**
 * Stage 4 of a protocol's run: asks the servers which zombie clients they
 * noticed (after a `stall-clients` fault), stops the shards and takes their
 * reports, and waits for the publishes still in flight.
 */
export async function collect(
  env: Environment,
  clients: Clients,
  observed: Observed,
  loopDelay: LoopDelayMonitor,
  log: (line: string) => void,
): Promise<Collected> {
  const zombieTimeoutsMs =
    env.servers && observed.faults.some((f) => f.action === "stall-clients")
      ? await heartbeatTimeouts(env.urls)
      : [];
  const parentLoopDelayP99Ms = loopDelay.p99Ms();
  const { timeline } = clients;
  const { reports, missing } = await clients.pool.finish(
    unconfirmedPublishes(clients.channels, observed.publisher.records, {
      startMs: timeline.measureStartMs,
      endMs: timeline.measureEndMs,
    }),
  );
  await observed.publisher.idle(PUBLISHER_IDLE_MS);
  if (missing.length > 0) {
    log(`no report from ${missing.join(", ")}; its clients are missing from the result`);
  }
  return { reports, missing, parentLoopDelayP99Ms, zombieTimeoutsMs };
}

/**
 * Publishes scheduled in the window without an acknowledgement so far: a
 * shard counted their receipts as deliveries; the result will not, unless
 * the acknowledgement still comes (load/timeline-result.ts decides).
 */
export function unconfirmedPublishes(
  channels: string[],
  records: PublishRecord[][],
  window: { startMs: number; endMs: number },
): UnconfirmedPublishes {
  const unconfirmed: UnconfirmedPublishes = [];
  channels.forEach((channel, i) => {
    const seqs = (records[i] ?? [])
      .filter((r) => r.acked !== true && r.dueMs >= window.startMs && r.dueMs < window.endMs)
      .map((r) => r.seq);
    if (seqs.length > 0) unconfirmed.push([channel, seqs]);
  });
  return unconfirmed;
}
