import type { LoopDelayMonitor } from "../metrics/loop-delay.js";
import type { ProcessLoad } from "../metrics/process-load.js";
import { monoMs } from "../util/clock.js";
import type { Clients } from "./clients-up.js";
import type { Environment } from "./environment.js";
import type { LoadMonitor } from "./load-monitor.js";
import type { Observed } from "./observe.js";
import { heartbeatTimeouts } from "./servers.js";
import type { ShardReport } from "./shard-protocol.js";
import type { MissingShard } from "./shards.js";

/** After an interrupt, how long the publishes still in flight get to be answered. */
const INTERRUPTED_ANSWER_MS = 500;
/** How long shards get to report: after an interrupt the user waits, so less. */
const SHARD_REPORT_MS = 15_000;
const INTERRUPTED_SHARD_REPORT_MS = 2_500;

/** What the generator and the servers have to say once the clients stopped. */
export interface Collected {
  reports: ShardReport[];
  /** Shards that died or did not report, with why: their clients are missing from the result. */
  missing: MissingShard[];
  /** The parent's (publisher's) and the started servers' load; shards report their own. */
  loads: ProcessLoad[];
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
  monitors: { loopDelay: LoopDelayMonitor; load: LoadMonitor },
  log: (line: string) => void,
  interrupted: boolean,
): Promise<Collected> {
  const zombieTimeoutsMs =
    env.servers && observed.faults.some((f) => f.action === "stall-clients")
      ? await heartbeatTimeouts(env.urls)
      : [];
  const parentLoopDelayP99Ms = monitors.loopDelay.p99Ms();
  const loads = monitors.load.summaries();
  const [{ reports, missing }] = await Promise.all([
    clients.pool.finish(interrupted ? INTERRUPTED_SHARD_REPORT_MS : SHARD_REPORT_MS),
    observed.publisher.finish(answerDeadlineMs(observed, clients, interrupted)),
  ]);
  if (missing.length > 0) {
    const names = missing.map((m) => `${m.name} (${m.reason})`).join(", ");
    log(`no report from ${names}; its clients are missing from the result`);
  }
  return { reports, missing, loads, parentLoopDelayP99Ms, zombieTimeoutsMs };
}

/**
 * Until when the publishes still unanswered are waited for: the end of the
 * drain, or the acknowledgement timeout after the last send when that is
 * later, so a run ends at most one acknowledgement timeout after its drain.
 */
function answerDeadlineMs(observed: Observed, clients: Clients, interrupted: boolean): number {
  if (interrupted) return monoMs() + INTERRUPTED_ANSWER_MS;
  const lastSend = observed.publisher.lastSendMs;
  return Math.max(clients.timeline.drainEndMs, lastSend + observed.ackTimeoutMs);
}
