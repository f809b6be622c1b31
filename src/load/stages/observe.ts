import { type ProbeResults, Probes } from "../../measures/parent.js";
import { measures } from "../../measures/registry.js";
import type { LoopDelayMonitor } from "../../metrics/loop-delay.js";
import { sampleProxy } from "../../proxy/proxy.js";
import type { BoundarySamples, ServerSample } from "../../run-model/server-sample.js";
import { bucketCount, phaseAt, type RunPhase } from "../../run-model/timeline.js";
import type { Scenario } from "../../scenario/types.js";
import type { OperationCounts } from "../../services/types.js";
import { monoMs, sleepUntil } from "../../util/clock.js";
import { type FaultRecord, type ServiceControl, startFaults } from "../faults/faults.js";
import { startLoopDelaySeconds } from "../fleet/loop-delay-seconds.js";
import { PublisherLoop } from "../publisher/publisher.js";
import type { LoadMonitor } from "../servers/load-monitor.js";
import { groupSampler, sampleServerSeconds } from "../servers/server-seconds.js";
import { sampleServers } from "../servers/servers.js";
import type { Clients } from "./clients-up.js";
import type { Environment } from "./environment.js";

/** What happened while the clients ran. */
export interface Observed {
  publisher: PublisherLoop;
  /** The scenario's acknowledgement timeout, for how long answers are waited for. */
  ackTimeoutMs: number;
  /** The faults fired, in firing order (times from ramp start). */
  faults: FaultRecord[];
  /** Server CPU and memory at the start and end of the window; null where not sampled. */
  windowStart: ServerSample | null;
  windowEnd: ServerSample | null;
  /** The proxy's CPU and memory at the same two points; null without a proxy. */
  proxyWindow: { start: ServerSample | null; end: ServerSample | null } | null;
  /** Per second: the parent's event-loop delay p99, and server samples at each boundary. */
  seconds: { parentLoopDelayP99Ms: (number | null)[]; servers: BoundarySamples };
  /** What the registered measures' probes saw, by measure (measures/parent.ts). */
  measures: ProbeResults;
}

export interface ObserveContext {
  scenario: Scenario;
  env: Environment;
  clients: Clients;
  /**
   * The broker's backing service (Redis or NATS) that the broker faults act
   * on; null when the run has none of its own to stop or restart.
   */
  brokerService: ServiceControl | null;
  monitors: { loopDelay: LoopDelayMonitor; load: LoadMonitor };
  /** The operations of the broker's backing service so far (broker cost); null for none, or a target. */
  brokerOperations: (() => Promise<OperationCounts>) | null;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Called every second with the phase and the time since ramp start. */
  onTick: (phase: RunPhase, elapsedMs: number) => void;
}

/**
 * Stage 3 of a protocol's run: publishes on schedule, fires the faults,
 * ticks progress, and samples the servers at the edges of the measured
 * window; returns at the end of the drain (or at once on abort). Longer
 * than most: it is the one place where everything the parent does at the
 * window's edges (monitors, servers, the measures' probes) is put in order.
 */
export async function publishAndObserve(ctx: ObserveContext): Promise<Observed> {
  const { scenario, env, clients, signal } = ctx;
  const { timeline } = clients;
  const publisher = publisherFor(scenario, clients);
  // Sends held back by a full set of slots may still leave during the drain, never after it.
  const publishing = sleepUntil(timeline.publishStartMs, signal).then(() =>
    publisher.run(signal, timeline.drainEndMs),
  );
  // Faults end with this protocol's run (a pending restart is not left to the next protocol).
  const faultsDone = new AbortController();
  const stopFaults = () => faultsDone.abort();
  signal.addEventListener("abort", stopFaults, { once: true });
  const faults = faultsFor(ctx, faultsDone.signal);
  const loopDelaySeconds = startLoopDelaySeconds(
    timeline.rampStartMs,
    bucketCount(timeline.rampStartMs, timeline.drainEndMs),
  );
  // Only servers rtbench started are sampled: a running target's cost is not ours to report.
  const servers = env.servers;
  const serverSeconds = sampleServerSeconds({
    startMs: timeline.rampStartMs,
    endMs: timeline.drainEndMs,
    instances: servers ? servers.instances.length : 0,
    sample: groupSampler(servers ?? { instances: [] }),
    signal,
  });
  const ours = servers !== null;
  const probes = new Probes(measures(), {
    timeline,
    scenario,
    urls: env.urls,
    channels: clients.channels,
    urlsFor: clients.urlsFor,
    ownServers: ours,
    brokerOperations: ctx.brokerOperations,
    faults: scenario.faults,
    signal,
    log: ctx.log,
  });
  const ticker = setInterval(() => {
    const now = monoMs();
    ctx.onTick(phaseAt(timeline, now), now - timeline.rampStartMs);
    probes.second(Math.floor((now - timeline.rampStartMs) / 1000));
  }, 1000);

  // `evenIfStopped`: an interrupted run's window ends at the stop, and its
  // server cost is read over that same span as its traffic (load/result/result.ts).
  const sample = (evenIfStopped = false) =>
    servers && (evenIfStopped || !signal.aborted) ? sampleServers(servers) : Promise.resolve(null);
  let windowStart: ServerSample | null = null;
  let windowEnd: ServerSample | null = null;
  const proxy = env.proxy;
  const proxyWindow = proxy
    ? { start: null as ServerSample | null, end: null as ServerSample | null }
    : null;
  let parentLoopDelayP99Ms: (number | null)[] = [];
  let probed: ProbeResults = {};
  try {
    await sleepUntil(timeline.measureStartMs, signal);
    ctx.monitors.loopDelay.reset();
    ctx.monitors.load.markWindowStart();
    const probesAtStart = probes.windowStart();
    windowStart = await sample();
    if (proxy && proxyWindow) proxyWindow.start = sampleProxy(proxy);
    await probesAtStart;
    await sleepUntil(timeline.measureEndMs, signal);
    ctx.monitors.load.markWindowEnd();
    const probesAtEnd = probes.windowEnd();
    windowEnd = await sample(true);
    if (proxy && proxyWindow) proxyWindow.end = sampleProxy(proxy);
    await probesAtEnd;
    await publishing;
    await sleepUntil(timeline.drainEndMs, signal);
  } finally {
    clearInterval(ticker);
    faultsDone.abort();
    signal.removeEventListener("abort", stopFaults);
    parentLoopDelayP99Ms = loopDelaySeconds.stop();
    // Even when the run fails: a probe's sampling must not outlive it.
    probed = await probes.finish();
  }
  const serverSamples = await serverSeconds.done;
  return {
    publisher,
    ackTimeoutMs: scenario.publish.ackTimeoutMs,
    faults: faults ? await faults.done : [],
    windowStart,
    windowEnd,
    proxyWindow,
    seconds: { parentLoopDelayP99Ms, servers: serverSamples },
    measures: probed,
  };
}

/** The publisher of this run, on the schedule from publish start to the end of the window. */
function publisherFor(scenario: Scenario, clients: Clients): PublisherLoop {
  const { timeline } = clients;
  return new PublisherLoop({
    schedule: {
      startMs: timeline.publishStartMs,
      endMs: timeline.measureEndMs,
      ratePerSec: scenario.publish.ratePerSec,
      channels: clients.channels.length,
    },
    channels: clients.channels,
    publishers: clients.publishers,
    payloadBytes: scenario.publish.payloadBytes,
    payload: scenario.publish.payload,
    ackTimeoutMs: scenario.publish.ackTimeoutMs,
    maxInFlight: scenario.publish.maxInFlight,
    judgedFromMs: timeline.measureStartMs,
    routes: clients.routes,
  });
}

/** The scenario's faults, started on the servers rtbench runs; null when there are none. */
function faultsFor(ctx: ObserveContext, signal: AbortSignal) {
  const { scenario, env, clients } = ctx;
  if (!env.servers || scenario.faults.length === 0) return null;
  return startFaults(scenario.faults, {
    servers: env.servers,
    brokerService: ctx.brokerService,
    clients: clients.pool,
    startMs: clients.timeline.rampStartMs,
    seed: scenario.seed,
    signal,
    log: ctx.log,
  });
}
