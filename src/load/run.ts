import os from "node:os";
import { startLoopDelayMonitor } from "../metrics/loop-delay.js";
import { runKey } from "../metrics/run-keys.js";
import { type ProtocolResult, RESULT_SCHEMA_VERSION, type RunResult } from "../metrics/types.js";
import { interruptClock } from "../run-model/interrupt.js";
import type { RunPhase } from "../run-model/timeline.js";
import { FALLBACK_VARIANT, fallbackNote } from "../scenario/clients-section.js";
import type { Scenario, Variant } from "../scenario/types.js";
import { provideService } from "../services/registry.js";
import { brokerInfo, type ServiceName } from "../shared/brokers.js";
import { errorText } from "../shared/errors.js";
import type { ProtocolName } from "../shared/transports.js";
import { gitCommit } from "../util/git.js";
import { packageVersion } from "../util/paths.js";
import { redactSecrets, redactStrings, redactText, scenarioSecrets } from "../util/redact.js";
import { controlService, type ServiceControl } from "./faults/faults.js";
import { buildProtocolResult } from "./result/result.js";
import { LoadMonitor, runProcesses } from "./servers/load-monitor.js";
import { INSECURE_WARNING, type RunTls } from "./servers/run-tls.js";
import { type SystemUnderTest, systemUnderTest } from "./servers/system-under-test.js";
import { type Clients, clientsUp, planFor } from "./stages/clients-up.js";
import { collect } from "./stages/collect.js";
import { type Environment, environmentUp } from "./stages/environment.js";
import { publishAndObserve } from "./stages/observe.js";
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

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  /** One-line notices for the user (stderr in the CLI). */
  log?: (line: string) => void;
  /** Notes to carry in the result (e.g. that the run fell back to the memory broker). */
  notes?: string[];
  /**
   * The running backing service (Redis) to use for a broker that needs one,
   * instead of starting one (default: its variable, $REDIS_URL, else start one).
   */
  redisUrl?: string;
  /**
   * Workers (`--workers N`), connected: they run the clients instead of
   * local shards, and the run's clock is this process's (workers/).
   */
  workers?: WorkerHub;
  /**
   * Where the reference server instances listen (default 127.0.0.1): the
   * host's bridge address when local workers run in network namespaces.
   */
  serverHost?: string;
}

/**
 * Runs the scenario once per protocol and returns the result document. When
 * `signal` aborts, the run stops at once, collects what the shards measured
 * so far, and returns it with status "partial". When something fails (a
 * server that will not start, Redis that cannot be started), it returns what
 * the protocols before the failure measured, with status "failed" and `error`.
 */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<RunResult> {
  const signal = options.signal ?? new AbortController().signal;
  const secrets = scenarioSecrets(scenario);
  const log = (line: string) => options.log?.(redactSecrets(line, secrets));
  const system = systemUnderTest(scenario);
  const result = emptyResult(scenario, system);
  result.setup.notes.push(...(options.notes ?? []));
  // Unverified TLS measures whatever answered: the result says so, not only the log.
  if (system.clientTls?.insecure) result.setup.notes.push(INSECURE_WARNING);
  if (scenario.clients.fallback) result.setup.notes.push(fallbackNote(scenario.clients.fallback));
  const services = new Map<ServiceName, Broker>();
  try {
    await brokersUp(system, options, log, services);
    const variants: (Variant | null)[] = scenario.variants.length > 0 ? scenario.variants : [null];
    runs: for (const protocol of scenario.protocols) {
      for (const variant of variants) {
        if (signal.aborted) break runs;
        // A fallback run is keyed by its first transport and says so: websocket@fallback.
        const key = runKey(
          protocol,
          variant?.name ?? (scenario.clients.fallback ? FALLBACK_VARIANT : null),
        );
        // A variant is the scenario with its own server settings.
        const effective = variant ? withVariant(scenario, variant, result.setup.notes) : scenario;
        try {
          // A variant's system is the bundled server with the variant's settings.
          const sut = variant ? systemUnderTest(effective) : system;
          const broker = brokerFor(sut, services);
          const measured = await runProtocol(effective, sut, protocol, key, broker, signal, {
            ...options,
            log: options.log && log,
            // Free ports of a commanded target are known once it started: the result names them.
            onTargetUrls: (urls) => {
              if (result.setup.target?.length === 0) result.setup.target = urls.map(redactText);
            },
            onNote: (note) => result.setup.notes.push(redactSecrets(note, secrets)),
          });
          result.protocols[key] = measured;
          const warning = measured.saturation?.plan?.warning;
          if (warning) result.setup.notes.push(`${key}: ${warning}`);
        } catch (error) {
          // Stopped while starting (Ctrl-C): a partial run, not a failed one.
          if (signal.aborted) break runs;
          result.error = redactText(`${key}: ${errorText(error)}`);
          break runs;
        }
      }
    }
  } catch (error) {
    result.error = redactText(errorText(error));
  } finally {
    for (const { control } of services.values()) await control?.stop();
  }
  result.finishedAt = new Date().toISOString();
  // A failed run still returns what the protocols before the failure measured.
  const measured = Object.values(result.protocols);
  result.status =
    result.error !== undefined
      ? "failed"
      : signal.aborted || measured.some((p) => (p.lostWorkers?.length ?? 0) > 0)
        ? "partial"
        : measured.some((p) => p.status === "invalid")
          ? "invalid"
          : "complete";
  result.reliable = measured.every((p) => p.generator.reliable);
  result.saturated = measured.some((p) => p.saturation?.server.saturated === true);
  // Every file is written from the result (JSON, HTML, Markdown, job summary):
  // secrets leave it here, scenario.text and error messages included.
  return redactStrings(result, secrets);
}

/** The backing service of the scenario's broker, if it needs one. */
interface Broker {
  /** The backing service's URL (Redis); null for the memory broker or a target. */
  url: string | null;
  /** Only a service rtbench started itself can be hit by a `redis-restart` or broker-* fault. */
  control: ServiceControl | null;
}

/**
 * The scenario with `variant`'s server settings. A variant whose broker has no
 * backing service (memory) runs without the broker-* faults, and the result says so.
 */
function withVariant(scenario: Scenario, variant: Variant, notes: string[]): Scenario {
  if (brokerInfo(variant.server.broker).service !== null) {
    return { ...scenario, server: variant.server };
  }
  const faults = scenario.faults.filter((f) => !f.action.startsWith("broker-"));
  const skipped = scenario.faults.length - faults.length;
  const note = `variant ${variant.name}: ${skipped} broker fault(s) not applied (the ${variant.server.broker} broker has no service to act on)`;
  if (skipped > 0 && !notes.includes(note)) notes.push(note);
  return { ...scenario, server: variant.server, faults };
}

/**
 * The backing services the run needs, by name: one per service among the
 * variants' brokers (a scenario comparing redis and nats starts both), or the
 * Redis a target started by command asks for with {redisUrl} (a Socket.IO
 * adapter, Nchan's storage).
 */
async function brokersUp(
  system: SystemUnderTest,
  options: RunOptions,
  log: (line: string) => void,
  up: Map<ServiceName, Broker>,
): Promise<void> {
  for (const kind of system.brokers) {
    const service = brokerInfo(kind).service;
    if (service === null || up.has(service)) continue;
    const provided = await provideService(kind, {
      url: service === "redis" ? options.redisUrl : undefined,
      env: process.env,
    });
    if (provided === null) continue;
    log(
      provided.started
        ? `started ${provided.service.command} at ${provided.url}`
        : `using ${provided.service.title} at ${provided.url}`,
    );
    up.set(service, {
      url: provided.url,
      control: provided.started ? controlService(provided.started) : null,
    });
  }
}

/** The service a run (the scenario, or one variant of it) uses; none for the memory broker. */
function brokerFor(system: SystemUnderTest, up: Map<ServiceName, Broker>): Broker {
  const { service } = system;
  return (service !== null ? up.get(service) : undefined) ?? { url: null, control: null };
}

/**
 * One protocol's run, stage by stage: servers up, clients up, publish and
 * observe, collect, result. Whatever was started is stopped on the way out.
 */
async function runProtocol(
  scenario: Scenario,
  system: SystemUnderTest,
  protocol: ProtocolName,
  key: string,
  broker: Broker,
  signal: AbortSignal,
  options: RunOptions & {
    onTargetUrls?: (urls: string[]) => void;
    onNote?: (note: string) => void;
  },
): Promise<ProtocolResult> {
  const log = (line: string) => options.log?.(redactText(`${key}: ${line}`));
  // Null for a variant on the memory broker: it does not use the run's Redis (a target may ask for it).
  const brokerUrl = broker.url;
  const progress = (phase: RunProgress["phase"], elapsedMs = 0, totalMs = 0, clients?: Clients) =>
    options.onProgress?.({
      protocol: key,
      phase,
      elapsedMs,
      totalMs,
      clients: scenario.clients.count,
      ...(clients ? clients.pool.totals() : { open: 0, received: 0 }),
    });
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
      redis: broker.control,
      monitors: { loopDelay, load },
      brokerUrl: env.servers ? brokerUrl : null,
      signal,
      log,
      onTick: (phase, elapsedMs) => progress(phase, elapsedMs, timeline.totalMs, up),
    });
    progress("collecting", timeline.totalMs, timeline.totalMs, up);
    // One stop time for everything that depends on it (the window, the shards' timelines).
    const stoppedAtMs = interrupt.atMs();
    const collected = await collect(env, up, observed, { loopDelay, load }, log, stoppedAtMs);
    return buildProtocolResult({
      scenario,
      protocol,
      timeline,
      stoppedAtMs,
      channels: up.channels,
      plan: up.plan,
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
      architecture: {
        instanceCpuSeconds: observed.instanceCpuSeconds,
        presenceSamples: observed.presenceSamples,
      },
      measures: observed.measures,
    });
  } finally {
    loopDelay.stop();
    load?.stop();
    await clients?.stop();
    await env?.stop();
    tls?.stop();
  }
}

function emptyResult(scenario: Scenario, system: SystemUnderTest): RunResult {
  const cpus = os.cpus();
  // The system's own lines (a target's protocol and command) follow the common ones.
  const { broker, instances, target, ...own } = system.setup;
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: "rtbench", version: packageVersion() },
    scenario: {
      name: scenario.name,
      file: scenario.source.file,
      sha256: scenario.source.sha256,
      text: scenario.source.text ?? null,
      ...(scenario.source.workload ? { workload: scenario.source.workload } : {}),
    },
    environment: {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? "unknown",
      os: `${os.platform()} ${os.release()}`,
      gitCommit: gitCommit(process.cwd()),
    },
    startedAt: new Date().toISOString(),
    finishedAt: "",
    status: "failed",
    reliable: true,
    setup: {
      broker,
      instances,
      target,
      durationMs: scenario.durationMs,
      warmupMs: scenario.warmupMs,
      clients: scenario.clients.count,
      channels: scenario.clients.channels,
      ratePerSec: scenario.publish.ratePerSec,
      payloadBytes: scenario.publish.payloadBytes,
      notes: [],
      ...own,
      ...(scenario.variants.length > 0 ? { variants: scenario.variants.map((v) => v.name) } : {}),
    },
    protocols: {},
  };
}
