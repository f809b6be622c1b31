import os from "node:os";
import { runKey } from "../metrics/run-keys.js";
import { RESULT_SCHEMA_VERSION, type RunResult } from "../metrics/types.js";
import { FALLBACK_VARIANT, fallbackNote } from "../scenario/clients-section.js";
import type { Scenario, Variant } from "../scenario/types.js";
import { provideService } from "../services/registry.js";
import { brokerInfo, type ServiceName } from "../shared/brokers.js";
import { errorText } from "../shared/errors.js";
import { gitCommit } from "../util/git.js";
import { packageVersion } from "../util/paths.js";
import { redactSecrets, redactStrings, redactText, scenarioSecrets } from "../util/redact.js";
import { controlService } from "./faults/service-control.js";
import { type Broker, type RunProgress, runProtocol } from "./protocol-run.js";
import { INSECURE_WARNING } from "./servers/run-tls.js";
import { type SystemUnderTest, systemUnderTest } from "./servers/system-under-test.js";
import type { WorkerHub } from "./workers/coordinator.js";

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
      operationCounts: provided.operationCounts,
    });
  }
}

/** The service a run (the scenario, or one variant of it) uses; none for the memory broker. */
function brokerFor(system: SystemUnderTest, up: Map<ServiceName, Broker>): Broker {
  const { service } = system;
  return (
    (service !== null ? up.get(service) : undefined) ?? {
      url: null,
      control: null,
      operationCounts: null,
    }
  );
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
