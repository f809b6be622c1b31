import type { ServerSample } from "../../run-model/server-sample.js";
import type { Scenario } from "../../scenario/types.js";
import { errorText, runFailed } from "../../shared/errors.js";
import {
  authHeaders,
  buildServerArgs,
  parseReadyLine,
  SERVER_READY_PATTERN,
  serverEnv,
} from "../../shared/server-launch.js";
import { type ChildHandle, isRunning, startChild } from "../../util/children.js";
import { freePort } from "../../util/net.js";
import { compiledEntry } from "../../util/paths.js";
import { sampleProcessGroups } from "../../util/proc.js";
import { serverLaunches } from "./server-settings.js";

/**
 * Server instances a run started, each its own process so its CPU and memory
 * are its own, and each under the run's control for fault injection. An
 * instance keeps its index and URL (port) across restarts; its PID changes.
 */
export interface ServerSet {
  urls: string[];
  /** The current process of each instance (a restart replaces it). */
  readonly instances: readonly ChildHandle[];
  /** SIGKILL: the process dies at once, connections are reset, nothing is flushed. */
  kill(index: number): Promise<void>;
  /** Starts a stopped instance again on the same port with the same flags; resolves once it listens. */
  start(index: number): Promise<void>;
  /** Graceful SIGTERM (WebSockets 1001, streams ended, polls answered), then start again. */
  restart(index: number): Promise<void>;
  /** SIGSTOP: sockets stay open but nothing moves, as in a hung process. */
  pause(index: number): void;
  /** SIGCONT after pause(); nothing when the instance is not paused. */
  resume(index: number): void;
  /**
   * `POST /admin/drop` on one instance or all: closes that fraction of its
   * subscriber connections at once. Resolves with the connections dropped.
   */
  drop(index: number | "all", fraction: number): Promise<number>;
  /** Stops every instance's current process (a paused one is resumed first, so SIGTERM lands). */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;
const DROP_TIMEOUT_MS = 5000;

/** One instance: how to start it, and its current process. */
interface Instance {
  name: string;
  args: string[];
  url: string;
  handle: ChildHandle;
  paused: boolean;
}

/** Starts `scenario.server.instances` reference server processes on free loopback ports. */
export async function startServers(
  scenario: Scenario,
  /** Where the broker's backing service listens; null for a broker without one. */
  brokerUrl: string | null,
  /** Receives what the instances print on stderr (Redis connection lost and back, errors). */
  log: (line: string) => void = () => {},
  /** Keeps this set's broker keys apart from other runs' in a shared Redis. */
  brokerPrefix: string | null = null,
  /** The certificate and key every instance serves (server.tls); null: plain HTTP. */
  tlsFiles: { cert: string; key: string } | null = null,
  /** Where the instances listen (default loopback). */
  host?: string,
): Promise<ServerSet> {
  const entry = compiledEntry("reference-server/main.js");
  const websocket = scenario.transports.websocket?.settings;
  const launches = serverLaunches(
    scenario.server,
    brokerUrl,
    brokerPrefix,
    tlsFiles,
    websocket?.deflate === "on" ? Number(websocket.deflateThreshold) : null,
    host,
  );
  const auth = scenario.server.auth;
  const started = await Promise.allSettled(
    launches.map(async (launch, i): Promise<Instance> => {
      const args = [entry, ...buildServerArgs({ ...launch, port: await freePort() })];
      const name = `server instance ${i}`;
      const { handle, url } = await spawnInstance(name, args, auth, log);
      return { name, args, url, handle, paused: false };
    }),
  );
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(ok.map((s) => s.handle.stop()));
    const reason = errorText(failed.reason);
    throw runFailed(`the reference server would not start: ${reason}`, failed.reason);
  }
  return new ControlledServers(ok, auth, log);
}

async function spawnInstance(
  name: string,
  args: string[],
  auth: string | null,
  log: (line: string) => void,
): Promise<{ handle: ChildHandle; url: string }> {
  const { handle, match } = await startChild({
    name,
    command: process.execPath,
    args,
    env: serverEnv(auth),
    readyPattern: SERVER_READY_PATTERN,
    onStderr: (line) => log(`${name}: ${line}`),
  });
  return { handle, url: parseReadyLine(match[0]) as string };
}

class ControlledServers implements ServerSet {
  readonly urls: string[];
  private stopped = false;

  constructor(
    private readonly set: Instance[],
    /** The token the instances require (`server.auth`); null: none. */
    private readonly auth: string | null,
    private readonly log: (line: string) => void,
  ) {
    this.urls = set.map((instance) => instance.url);
  }

  get instances(): readonly ChildHandle[] {
    return this.set.map((instance) => instance.handle);
  }

  async kill(index: number): Promise<void> {
    const instance = this.instance(index);
    instance.paused = false;
    await instance.handle.stop("SIGKILL");
  }

  async start(index: number): Promise<void> {
    const instance = this.instance(index);
    if (this.stopped) throw runFailed(`cannot start ${instance.name}: the servers were stopped`);
    if (isRunning(instance.handle)) {
      throw runFailed(`cannot start ${instance.name}: it still runs (pid ${instance.handle.pid})`);
    }
    let started: { handle: ChildHandle; url: string };
    try {
      started = await spawnInstance(instance.name, instance.args, this.auth, this.log);
    } catch (error) {
      const reason = errorText(error);
      throw runFailed(
        `${instance.name} would not start again on ${instance.url}: ${reason}`,
        error,
      );
    }
    instance.handle = started.handle;
    instance.paused = false;
    // stop() ran while this one was starting: it must not outlive the run.
    if (this.stopped) await started.handle.stop("SIGTERM", STOP_GRACE_MS);
  }

  async restart(index: number): Promise<void> {
    const instance = this.instance(index);
    // A stopped process would hold SIGTERM until SIGCONT; let it run to shut down cleanly.
    this.resume(index);
    await instance.handle.stop("SIGTERM", STOP_GRACE_MS);
    await this.start(index);
  }

  pause(index: number): void {
    const instance = this.instance(index);
    if (!isRunning(instance.handle)) {
      throw runFailed(`cannot pause ${instance.name}: it is not running`);
    }
    instance.handle.process.kill("SIGSTOP");
    instance.paused = true;
  }

  resume(index: number): void {
    const instance = this.instance(index);
    if (!instance.paused) return;
    instance.paused = false;
    if (isRunning(instance.handle)) instance.handle.process.kill("SIGCONT");
  }

  async drop(index: number | "all", fraction: number): Promise<number> {
    const targets = index === "all" ? this.set : [this.instance(index)];
    const answers = await Promise.allSettled(targets.map((t) => postDrop(t, fraction, this.auth)));
    const failures = answers.flatMap((a) => (a.status === "rejected" ? [a.reason] : []));
    if (failures.length > 0) {
      const reasons = failures.map((f) => errorText(f));
      throw runFailed(`drop failed: ${reasons.join("; ")}`, failures[0]);
    }
    return answers.reduce((sum, a) => sum + (a.status === "fulfilled" ? a.value : 0), 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      this.set.map((instance, index) => {
        this.resume(index);
        return instance.handle.stop("SIGTERM", STOP_GRACE_MS);
      }),
    );
  }

  private instance(index: number): Instance {
    const instance = this.set[index];
    if (instance === undefined) {
      throw runFailed(
        `no server instance ${index}: expected 0 to ${this.set.length - 1} (${this.set.length} started)`,
      );
    }
    return instance;
  }
}

/** `POST /admin/drop` on one reference server instance (started with --admin). */
export async function postDrop(
  instance: { name: string; url: string },
  fraction: number,
  /** The server's token (`server.auth`); null: none. */
  auth: string | null = null,
): Promise<number> {
  const url = `${instance.url}/admin/drop`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders(auth) },
      body: JSON.stringify({ fraction }),
      signal: AbortSignal.timeout(DROP_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(`${instance.name}: POST ${url}: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${instance.name}: POST ${url} answered ${response.status}: ${text}`);
  }
  const { dropped } = JSON.parse(text) as { dropped: number };
  return dropped;
}

/**
 * CPU seconds and resident memory summed over the instances, read from /proc
 * for each instance's process group (its workers and wrappers included), the
 * same way for the reference server and for a server started by
 * `target.command`. Null where /proc cannot be read: the cost is then n/a.
 */
export async function sampleServers(servers: ServerSet): Promise<ServerSample | null> {
  const perInstance = await sampleInstances(servers);
  if (perInstance === null) return null;
  let cpuSeconds = 0;
  let rssBytes = 0;
  for (const sample of perInstance) {
    cpuSeconds += sample.cpuSeconds;
    rssBytes += sample.rssBytes;
  }
  return { cpuSeconds, rssBytes };
}

/** One sample per instance, in instance order (a stopped instance samples as zeros). */
export async function sampleInstances(servers: ServerSet): Promise<ServerSample[] | null> {
  const groups = servers.instances.map((handle) => handle.pid);
  const samples = sampleProcessGroups(groups);
  if (samples === null) return null;
  return groups.map((group) => {
    const { cpuSeconds, rssBytes } = samples.get(group) as ServerSample;
    return { cpuSeconds, rssBytes };
  });
}

/**
 * When each instance dropped connections for missing heartbeats (monotonic
 * ms), from the reference server's admin endpoint; empty where unavailable.
 */
export async function heartbeatTimeouts(
  urls: string[],
  auth: string | null,
  log: "heartbeat-timeouts" | "write-timeouts" = "heartbeat-timeouts",
): Promise<number[]> {
  const all: number[] = [];
  for (const url of urls) {
    try {
      const response = await fetch(`${url}/admin/${log}`, {
        headers: authHeaders(auth),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) continue;
      const body = (await response.json()) as { monotonicMs?: unknown };
      if (Array.isArray(body.monotonicMs)) all.push(...(body.monotonicMs as number[]));
    } catch {
      // an instance that is down has nothing to say
    }
  }
  return all;
}
