import type { LoopDelayMonitor } from "../metrics/loop-delay.js";
import { sampleProxy } from "../proxy/proxy.js";
import type { Scenario } from "../scenario/types.js";
import { monoMs, sleepUntil } from "../util/clock.js";
import { type BrokerOps, sampleBrokerOps } from "./broker-ops.js";
import type { Clients } from "./clients-up.js";
import type { Environment } from "./environment.js";
import { type FaultRecord, type ServiceControl, startFaults } from "./faults.js";
import { bucketCount } from "./fleet-timeline.js";
import { InstanceCpuTracker } from "./instance-load.js";
import type { LoadMonitor } from "./load-monitor.js";
import { startLoopDelaySeconds } from "./loop-delay-seconds.js";
import type { PresenceSample } from "./presence-audit.js";
import { PresenceSampler } from "./presence-sampler.js";
import { PublisherLoop } from "./publisher.js";
import { type BoundarySamples, groupSampler, sampleServerSeconds } from "./server-seconds.js";
import { type ServerSample, sampleServers } from "./servers.js";
import { phaseAt, type RunPhase } from "./timeline.js";

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
  /** CPU seconds of each instance in the window; null with one instance or a target. */
  instanceCpuSeconds: (number | null)[] | null;
  /** Broker operations at the start and end of the window; null where not known. */
  brokerOps: { start: BrokerOps | null; end: BrokerOps | null } | null;
  /** Presence lists sampled during the run (presence.sampleInterval); null when off. */
  presenceSamples: PresenceSample[] | null;
}

export interface ObserveContext {
  scenario: Scenario;
  env: Environment;
  clients: Clients;
  /** Null when the run has no Redis of its own to restart. */
  redis: ServiceControl | null;
  monitors: { loopDelay: LoopDelayMonitor; load: LoadMonitor };
  /** The broker's backing service (Redis), whose command counts are read; null for none. */
  brokerUrl: string | null;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Called every second with the phase and the time since ramp start. */
  onTick: (phase: RunPhase, elapsedMs: number) => void;
}

/**
 * Stage 3 of a protocol's run: publishes on schedule, fires the faults,
 * ticks progress, and samples the servers at the edges of the measured
 * window; returns at the end of the drain (or at once on abort).
 */
export async function publishAndObserve(ctx: ObserveContext): Promise<Observed> {
  const { scenario, env, clients, signal } = ctx;
  const { timeline } = clients;
  const publisher = new PublisherLoop({
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
  // Sends held back by a full set of slots may still leave during the drain, never after it.
  const publishing = sleepUntil(timeline.publishStartMs, signal).then(() =>
    publisher.run(signal, timeline.drainEndMs),
  );
  // Faults end with this protocol's run (a pending restart is not left to the next protocol).
  const faultsDone = new AbortController();
  const stopFaults = () => faultsDone.abort();
  signal.addEventListener("abort", stopFaults, { once: true });
  const faults =
    env.servers && scenario.faults.length > 0
      ? startFaults(scenario.faults, {
          servers: env.servers,
          redis: ctx.redis,
          clients: clients.pool,
          startMs: timeline.rampStartMs,
          seed: scenario.seed,
          signal: faultsDone.signal,
          log: ctx.log,
        })
      : null;
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
  const ticker = setInterval(() => {
    const now = monoMs();
    ctx.onTick(phaseAt(timeline, now), now - timeline.rampStartMs);
  }, 1000);

  const ours = servers !== null;
  // `evenIfStopped`: an interrupted run's window ends at the stop, and its
  // server cost is read over that same span as its traffic (load/result.ts).
  const sample = (evenIfStopped = false) =>
    servers && (evenIfStopped || !signal.aborted) ? sampleServers(servers) : Promise.resolve(null);
  const brokerOps = () =>
    ours && !signal.aborted ? sampleBrokerOps(ctx.brokerUrl, env.urls) : Promise.resolve(null);
  const cpu = ours && env.urls.length > 1 ? new InstanceCpuTracker(env.urls) : null;
  const presence =
    scenario.presence.sampleIntervalMs > 0
      ? new PresenceSampler(clients.channels, clients.urlsFor, scenario.presence.sampleIntervalMs)
      : null;
  let windowStart: ServerSample | null = null;
  let windowEnd: ServerSample | null = null;
  const proxy = env.proxy;
  const proxyWindow = proxy
    ? { start: null as ServerSample | null, end: null as ServerSample | null }
    : null;
  let parentLoopDelayP99Ms: (number | null)[] = [];
  const observed: Pick<Observed, "instanceCpuSeconds" | "brokerOps" | "presenceSamples"> = {
    instanceCpuSeconds: null,
    brokerOps: null,
    presenceSamples: null,
  };
  try {
    await sleepUntil(timeline.measureStartMs, signal);
    ctx.monitors.loopDelay.reset();
    ctx.monitors.load.markWindowStart();
    presence?.start();
    const opsAtStart = brokerOps();
    cpu?.start();
    windowStart = await sample();
    if (proxy && proxyWindow) proxyWindow.start = sampleProxy(proxy);
    const startOps = await opsAtStart;
    await sleepUntil(timeline.measureEndMs, signal);
    ctx.monitors.load.markWindowEnd();
    const opsAtEnd = brokerOps();
    windowEnd = await sample(true);
    if (proxy && proxyWindow) proxyWindow.end = sampleProxy(proxy);
    observed.brokerOps = ours ? { start: startOps, end: await opsAtEnd } : null;
    observed.instanceCpuSeconds = (await cpu?.stop()) ?? null;
    await publishing;
    await sleepUntil(timeline.drainEndMs, signal);
  } finally {
    clearInterval(ticker);
    faultsDone.abort();
    signal.removeEventListener("abort", stopFaults);
    parentLoopDelayP99Ms = loopDelaySeconds.stop();
    await cpu?.stop();
    await presence?.stop();
  }
  observed.presenceSamples = presence?.samples ?? null;
  const serverSamples = await serverSeconds.done;
  return {
    publisher,
    ackTimeoutMs: scenario.publish.ackTimeoutMs,
    faults: faults ? await faults.done : [],
    windowStart,
    windowEnd,
    proxyWindow,
    seconds: { parentLoopDelayP99Ms, servers: serverSamples },
    ...observed,
  };
}
