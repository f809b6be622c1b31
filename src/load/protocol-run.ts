/**
 * One protocol's run (or one variant's), stage by stage (stages/): servers
 * up, clients up, publish and observe, collect; then what the stages made
 * is put together and turned into the protocol's result (result/). Whatever
 * was started is stopped on the way out. run.ts calls it once per protocol
 * and variant.
 */

import { startLoopDelayMonitor } from "../metrics/loop-delay.js";
import type { ProtocolResult } from "../metrics/types.js";
import { interruptClock } from "../run-model/interrupt.js";
import type { RunPhase } from "../run-model/timeline.js";
import type { Scenario } from "../scenario/types.js";
import type { OperationCounts } from "../services/types.js";
import type { ProtocolName } from "../shared/transports.js";
import { redactText } from "../util/redact.js";
import type { ServiceControl } from "./faults/faults.js";
import { buildProtocolResult } from "./result/result.js";
import type { RunRecord } from "./result/run-record.js";
import { LoadMonitor, runProcesses } from "./servers/load-monitor.js";
import type { RunTls } from "./servers/run-tls.js";
import type { SystemUnderTest } from "./servers/system-under-test.js";
import { type Clients, clientsUp, planFor } from "./stages/clients-up.js";
import { type Collected, collect } from "./stages/collect.js";
import { type Environment, environmentUp } from "./stages/environment.js";
import { type Observed, publishAndObserve } from "./stages/observe.js";
import { preflightFor } from "./stages/preflight.js";
import type { WorkerHub } from "./workers/coordinator.js";
import { RemotePool } from "./workers/remote-pool.js";

export interface RunProgress {
  /** The run's key: the protocol, or `protocol@variant`. */
  protocol: ProtocolName;
  phase: "starting" | RunPhase | "collecting";
  elapsedMs: number;
  totalMs: number;
  open: number;
  clients: number;
  received: number;
}

/** The backing service of the scenario's broker, if it needs one. */
export interface Broker {
  /** The backing service's URL (Redis or NATS); null for the memory broker or a target. */
  url: string | null;
  /** Only a service rtbench started itself can be hit by a `redis-restart` or broker-* fault. */
  control: ServiceControl | null;
  /** Its operations so far, as the service reads them itself; null without a service. */
  operationCounts: (() => Promise<OperationCounts>) | null;
}

export interface ProtocolRunOptions {
  onProgress?: (progress: RunProgress) => void;
  /** One-line notices for the user; each is prefixed with the run's key. */
  log?: (line: string) => void;
  /** Workers, connected: they run the clients instead of local shards (workers/). */
  workers?: WorkerHub;
  /** Where the reference server instances listen (default 127.0.0.1). */
  serverHost?: string;
  /** A commanded target's URLs, known once it started. */
  onTargetUrls?: (urls: string[]) => void;
  /** A note for the result (a preflight warning). */
  onNote?: (note: string) => void;
}

/**
 * One protocol's run under `key` (the protocol, or `protocol@variant`):
 * stage by stage, then its result. Whatever was started is stopped on the
 * way out.
 */
export async function runProtocol(
  scenario: Scenario,
  system: SystemUnderTest,
  protocol: ProtocolName,
  key: string,
  broker: Broker,
  signal: AbortSignal,
  options: ProtocolRunOptions,
): Promise<ProtocolResult> {
  const log = (line: string) => options.log?.(redactText(`${key}: ${line}`));
  // Null for a variant on the memory broker: it does not use the run's backing service (a target may ask for it).
  const brokerUrl = broker.url;
  const progress = reportProgress(options, key, scenario.clients.count);
  progress("starting");
  const interrupt = interruptClock(signal);

  let env: Environment | null = null;
  let clients: Clients | null = null;
  let load: LoadMonitor | null = null;
  let tls: RunTls | null = null;
  const loopDelay = startLoopDelayMonitor();
  try {
    tls = system.tlsUp(log);
    env = await environmentUp(
      system,
      { brokerUrl, log, signal, tlsFiles: tls.serverFiles, serverHost: options.serverHost },
      tls.proxy,
    );
    options.onTargetUrls?.(env.urls);
    const { shards } = planFor(scenario, protocol, system);
    for (const warning of preflightFor(scenario, system, shards, env)) {
      log(`preflight: ${warning}`);
      options.onNote?.(`${key}: preflight: ${warning}`);
    }
    load = new LoadMonitor(runProcesses(env.servers));
    clients = await clientsUp(
      scenario,
      system,
      protocol,
      env.clientUrls,
      log,
      tls.client,
      options.workers ? RemotePool.factory(options.workers) : undefined,
    );
    const up = clients;
    const { timeline } = up;
    const observed = await publishAndObserve({
      scenario,
      env,
      clients: up,
      brokerService: broker.control,
      monitors: { loopDelay, load },
      brokerOperations: env.servers ? broker.operationCounts : null,
      signal,
      log,
      onTick: (phase, elapsedMs) => progress(phase, elapsedMs, timeline.totalMs, up),
    });
    progress("collecting", timeline.totalMs, timeline.totalMs, up);
    // One stop time for everything that depends on it (the window, the shards' timelines).
    const stoppedAtMs = interrupt.atMs();
    const collected = await collect(env, up, observed, { loopDelay, load }, log, stoppedAtMs);
    const stages = { env, clients: up, observed, collected };
    return buildProtocolResult(recordOf(scenario, system, protocol, stages, stoppedAtMs));
  } finally {
    loopDelay.stop();
    load?.stop();
    await clients?.stop();
    await env?.stop();
    tls?.stop();
  }
}

/** Tells `options.onProgress` where the run is, with the clients' counts once they are up. */
function reportProgress(options: ProtocolRunOptions, key: string, clientCount: number) {
  return (phase: RunProgress["phase"], elapsedMs = 0, totalMs = 0, clients?: Clients) =>
    options.onProgress?.({
      protocol: key,
      phase,
      elapsedMs,
      totalMs,
      clients: clientCount,
      ...(clients ? clients.pool.totals() : { open: 0, received: 0 }),
    });
}

/** What the stages made, put together: what the protocol's result is computed from. */
function recordOf(
  scenario: Scenario,
  system: SystemUnderTest,
  protocol: ProtocolName,
  stages: { env: Environment; clients: Clients; observed: Observed; collected: Collected },
  stoppedAtMs: number | null,
): RunRecord {
  const { env, clients, observed, collected } = stages;
  return {
    scenario,
    protocol,
    timeline: clients.timeline,
    stoppedAtMs,
    channels: clients.channels,
    plan: clients.plan,
    publisher: observed.publisher,
    faults: observed.faults,
    collected,
    serverSettings: env.settings,
    seconds: observed.seconds,
    publishAcknowledged: system.acknowledgesPublishes,
    samples: {
      baseline: env.baseline,
      windowStart: observed.windowStart,
      windowEnd: observed.windowEnd,
    },
    ...(env.proxy && scenario.server.proxy
      ? {
          proxy: {
            kind: scenario.server.proxy.kind,
            samples: {
              baseline: env.proxyBaseline,
              windowStart: observed.proxyWindow?.start ?? null,
              windowEnd: observed.proxyWindow?.end ?? null,
            },
          },
        }
      : {}),
    // Behind a proxy the clients cannot tell which instance serves them: no per-instance spread.
    instanceCount: env.clientUrls.length,
    measures: observed.measures,
  };
}
