/**
 * Fault injection: fires a scenario's faults at their times against the
 * server instances (and the broker's backing service, Redis or NATS) a run
 * started, and records what happened, so
 * a report can put each reconnect storm next to its cause.
 */

import { faultTimeMs } from "../../run-model/timeline.js";
import type { BrokerFaultAction, Fault } from "../../scenario/types.js";
import { errorText } from "../../shared/errors.js";
import { monoMs, sleep, sleepUntil } from "../../util/clock.js";
import { seededRandom } from "../../util/random.js";
import type { ServerSet } from "../servers/servers.js";

/**
 * The broker's backing service (Redis, NATS) that the run started, always on
 * the same port. `stop` also removes what it stored (the run's final
 * cleanup; redis-restart); `crash` keeps it for the next `start`.
 */
export interface ServiceControl {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL: the process dies as in a crash; its data directory stays. */
  crash(): Promise<void>;
  /** Graceful stop, then start again at once (same port, same data directory). */
  restart(): Promise<void>;
  /** SIGSTOP: it holds its connections and answers nothing. */
  freeze(): void;
  /** SIGCONT after freeze(); a no-op otherwise. */
  thaw(): void;
}

export interface FaultContext {
  servers: ServerSet;
  /**
   * The broker's backing service that `redis-restart` and the broker-* faults
   * act on (Redis or NATS); null when the run has none of its own (memory
   * broker, or an external REDIS_URL / NATS_URL).
   */
  brokerService: ServiceControl | null;
  /**
   * The run's own client processes, for `stall-clients`, and to be told when
   * a broker fault ended (they time their recovery from it).
   */
  clients: {
    pause(): void;
    resume(): void;
    brokerBack(action: BrokerFaultAction, atMs: number): void;
  } | null;
  /** Monotonic ms (util/clock.ts) that `atMs` counts from: the start of ramp-up (timeline.ts). */
  startMs: number;
  /** Picks `instance: random` reproducibly. */
  seed: number;
  /** Stops firing; a stalled instance is resumed at once (a killed one stays down). */
  signal: AbortSignal;
  log(line: string): void;
}

/** One fault as it happened. Times are ms since `startMs`, like the scenario's `at`. */
export interface FaultRecord {
  action: Fault["action"];
  /**
   * The instance it hit (`random` resolved), "all" for a drop on every
   * instance, null for the broker's backing service (Redis or NATS).
   */
  instance: number | "all" | null;
  firedAtMs: number;
  /**
   * When the instance was back (kill with restartAfter, restart), the stall
   * was over or the broker's backing service was back.
   */
  endedAtMs?: number;
  /** Connections closed by a drop. */
  dropped?: number;
  error?: string;
}

export interface RunningFaults {
  /** Resolves once every fault has fired and ended, or at abort; in firing order. */
  done: Promise<FaultRecord[]>;
}

export function startFaults(faults: Fault[], ctx: FaultContext): RunningFaults {
  const instanceCount = ctx.servers.urls.length;
  const random = seededRandom(ctx.seed);
  // Resolved up front in `at` order, so a seed gives the same instances whatever the timing.
  const planned = [...faults]
    .sort((a, b) => a.atMs - b.atMs)
    .map((fault) => ({ fault, instance: resolveInstance(fault, instanceCount, random) }));
  const records: FaultRecord[] = [];
  const done = Promise.all(
    planned.map(async ({ fault, instance }) => {
      await sleepUntil(faultTimeMs(ctx.startMs, fault.atMs), ctx.signal);
      if (ctx.signal.aborted) return;
      const record: FaultRecord = { action: fault.action, instance, firedAtMs: elapsed(ctx) };
      records.push(record);
      ctx.log(`fault at ${Math.round(record.firedAtMs)} ms: ${describeFault(fault, instance)}`);
      try {
        await fire(fault, instance, record, ctx);
      } catch (error) {
        record.error = errorText(error);
        ctx.log(`fault ${fault.action} failed: ${record.error}`);
      }
    }),
  ).then(() => records.sort((a, b) => a.firedAtMs - b.firedAtMs));
  return { done };
}

function resolveInstance(
  fault: Fault,
  instanceCount: number,
  random: () => number,
): number | "all" | null {
  if (!("instance" in fault)) return null;
  if (fault.instance === "random") return Math.floor(random() * instanceCount);
  return fault.instance;
}

async function fire(
  fault: Fault,
  instance: number | "all" | null,
  record: FaultRecord,
  ctx: FaultContext,
): Promise<void> {
  const { servers, signal } = ctx;
  switch (fault.action) {
    case "kill": {
      await servers.kill(instance as number);
      if (fault.restartAfterMs === null) return;
      await sleep(fault.restartAfterMs, signal);
      // On abort the run is ending: starting a server nobody will use only slows shutdown.
      if (signal.aborted) return;
      await servers.start(instance as number);
      record.endedAtMs = elapsed(ctx);
      return;
    }
    case "restart":
      await servers.restart(instance as number);
      record.endedAtMs = elapsed(ctx);
      return;
    case "drop":
      record.dropped = await servers.drop(instance as number | "all", fault.fraction);
      return;
    case "stall":
      servers.pause(instance as number);
      // Resumed on abort too: a stopped process ignores SIGTERM and would hang the shutdown.
      await sleep(fault.forMs, signal);
      servers.resume(instance as number);
      record.endedAtMs = elapsed(ctx);
      return;
    case "redis-restart": {
      // A scenario with redis-restart has the redis broker (scenario/fault-requirements.ts).
      if (ctx.brokerService === null) {
        throw new Error("redis-restart needs a Redis that rtbench started (none here)");
      }
      await ctx.brokerService.stop();
      await sleep(fault.forMs, signal);
      if (signal.aborted) return;
      await ctx.brokerService.start();
      record.endedAtMs = elapsed(ctx);
      return;
    }
    case "broker-freeze": {
      const service = brokerService(fault.action, ctx);
      service.freeze();
      // Thawed on abort too: a stopped process ignores SIGTERM and would hang the cleanup.
      await sleep(fault.forMs, signal);
      service.thaw();
      brokerBack(fault.action, record, ctx);
      return;
    }
    case "broker-stop": {
      const service = brokerService(fault.action, ctx);
      await service.crash();
      await sleep(fault.forMs, signal);
      if (signal.aborted) return;
      await service.start();
      brokerBack(fault.action, record, ctx);
      return;
    }
    case "broker-restart":
      await brokerService(fault.action, ctx).restart();
      brokerBack(fault.action, record, ctx);
      return;
    case "stall-clients": {
      if (ctx.clients === null) throw new Error("stall-clients needs the run's client processes");
      ctx.clients.pause();
      // Resumed on abort too: stopped shards could not report what they measured.
      await sleep(fault.forMs, signal);
      ctx.clients.resume();
      record.endedAtMs = elapsed(ctx);
      return;
    }
    case "flap":
      // Nothing to do here: each shard gave its clients' networks their outages at start.
      return;
  }
}

function brokerService(action: string, ctx: FaultContext): ServiceControl {
  if (ctx.brokerService === null) {
    throw new Error(`${action} needs a broker service that rtbench started (none here)`);
  }
  return ctx.brokerService;
}

/** The broker is back: the fault's end is recorded, and the clients time their recovery from it. */
function brokerBack(action: BrokerFaultAction, record: FaultRecord, ctx: FaultContext): void {
  const atMs = monoMs();
  record.endedAtMs = atMs - ctx.startMs;
  ctx.clients?.brokerBack(action, atMs);
}

function elapsed(ctx: FaultContext): number {
  return monoMs() - ctx.startMs;
}

function describeFault(fault: Fault, instance: number | "all" | null): string {
  const where =
    instance === null
      ? fault.action.startsWith("broker-")
        ? "the broker"
        : "redis"
      : instance === "all"
        ? "all instances"
        : `instance ${instance}`;
  switch (fault.action) {
    case "kill":
      return fault.restartAfterMs === null
        ? `kill ${where}`
        : `kill ${where}, start again after ${fault.restartAfterMs} ms`;
    case "restart":
      return `restart ${where}`;
    case "drop":
      return `drop ${fault.fraction * 100}% of connections on ${where}`;
    case "stall":
      return `stall ${where} for ${fault.forMs} ms`;
    case "redis-restart":
      return `stop redis for ${fault.forMs} ms`;
    case "stall-clients":
      return `stall the clients (rtbench's own shards) for ${fault.forMs} ms`;
    case "flap":
      return `from now on ${fault.fraction * 100}% of the clients lose their network for ${fault.offlineForMs} ms every ${fault.everyMs} ms`;
    case "broker-freeze":
      return `freeze ${where} (SIGSTOP) for ${fault.forMs} ms`;
    case "broker-stop":
      return `kill ${where} (SIGKILL), start it again after ${fault.forMs} ms`;
    case "broker-restart":
      return `restart ${where} (SIGTERM, then start)`;
  }
}
