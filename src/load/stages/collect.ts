import type { LoopDelayMonitor } from "../../metrics/loop-delay.js";
import type { ProcessLoad } from "../../metrics/process-load.js";
import type { PublishRecord } from "../../run-model/publish-record.js";
import type { ShardReport, UncountedPublishes } from "../../run-model/shard-report.js";
import { measuredWindow } from "../../run-model/timeline.js";
import type { ControlTraffic, WorkerClock } from "../../run-model/workers.js";
import { monoMs } from "../../util/clock.js";
import { heartbeatTimeouts } from "../servers/admin.js";
import type { LoadMonitor } from "../servers/load-monitor.js";
import type { MissingShard } from "../shards/shards.js";
import type { Clients } from "./clients-up.js";
import type { Environment } from "./environment.js";
import type { Observed } from "./observe.js";

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
  /** With clients.slow, on servers rtbench started: when each cut a stream for its write timeout. */
  writeTimeoutsMs?: number[];
  /** The workers' clock offsets and bounds; null when the clients ran on this host. */
  clocks?: WorkerClock[] | null;
  /** What the workers' control connections cost; null when the clients ran on this host. */
  controlTraffic?: ControlTraffic | null;
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
  /** When an interrupted run stopped; null when it ran to the end. */
  stoppedAtMs: number | null,
): Promise<Collected> {
  const interrupted = stoppedAtMs !== null;
  const zombieTimeoutsMs =
    env.servers && observed.faults.some((f) => f.action === "stall-clients")
      ? await heartbeatTimeouts(env.urls, env.auth)
      : [];
  const writeTimeoutsMs =
    env.servers && clients.slow
      ? await heartbeatTimeouts(env.urls, env.auth, "write-timeouts")
      : undefined;
  const parentLoopDelayP99Ms = monitors.loopDelay.p99Ms();
  const loads = monitors.load.summaries();
  const [{ reports, missing }] = await Promise.all([
    clients.pool.finish(
      uncountedPublishes(clients, observed.publisher.records, stoppedAtMs),
      interrupted ? INTERRUPTED_SHARD_REPORT_MS : SHARD_REPORT_MS,
    ),
    observed.publisher.finish(answerDeadlineMs(observed, clients, interrupted)),
  ]);
  if (missing.length > 0) {
    const names = missing.map((m) => `${m.name} (${m.reason})`).join(", ");
    log(`no report from ${names}; its clients are missing from the result`);
  }
  const clocks = clients.pool.clocks?.() ?? null;
  const controlTraffic = clients.pool.controlTraffic?.() ?? null;
  return {
    reports,
    missing,
    loads,
    parentLoopDelayP99Ms,
    zombieTimeoutsMs,
    writeTimeoutsMs,
    clocks,
    controlTraffic,
  };
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

/**
 * Publishes the shards counted as window messages but the result will not:
 * those scheduled after the end of a window an interrupt cut short. The
 * shards say in which seconds they counted their receipts, and the parent
 * takes them out of the timeline (timeline-result.ts), so it still sums to
 * `delivered`. Empty for a run that ran to the end.
 */
export function uncountedPublishes(
  clients: Pick<Clients, "channels" | "timeline">,
  records: PublishRecord[][],
  stoppedAtMs: number | null,
): UncountedPublishes {
  const { timeline } = clients;
  const window = measuredWindow(timeline, stoppedAtMs);
  const uncounted: UncountedPublishes = [];
  if (window.endMs >= timeline.measureEndMs) return uncounted;
  clients.channels.forEach((channel, i) => {
    const seqs = (records[i] ?? [])
      .filter((r) => r.dueMs >= window.endMs && r.dueMs < timeline.measureEndMs)
      .map((r) => r.seq);
    if (seqs.length > 0) uncounted.push([channel, seqs]);
  });
  return uncounted;
}
