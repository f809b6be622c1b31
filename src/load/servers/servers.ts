import type { ServerSample } from "../../run-model/server-sample.js";
import type { Scenario } from "../../scenario/types.js";
import { errorText, runFailed } from "../../shared/errors.js";
import {
  buildServerArgs,
  parseReadyLine,
  SERVER_READY_PATTERN,
  serverEnv,
} from "../../shared/server-launch.js";
import { type ChildHandle, isRunning } from "../../util/children.js";
import { freePort } from "../../util/net.js";
import { compiledEntry } from "../../util/paths.js";
import { sampleProcessGroups } from "../../util/proc.js";
import { type Supervised, supervise } from "../../util/supervisor.js";
import { postDrop } from "./admin.js";
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
  // An instance restarts on the same port with the same flags: its arguments are fixed once.
  const argsOf = await Promise.all(
    launches.map(async (launch) => [
      entry,
      ...buildServerArgs({ ...launch, port: await freePort() }),
    ]),
  );
  const spawn = (index: number): Promise<Supervised> =>
    supervise({
      name: `server instance ${index}`,
      command: process.execPath,
      args: argsOf[index] as string[],
      env: serverEnv(auth),
      readyLine: SERVER_READY_PATTERN,
      scope: "process",
      onStderr: (line) => log(`server instance ${index}: ${line}`),
    });
  return startInstanceSet({
    kind: "server",
    count: launches.length,
    spawn,
    urlOf: (child) => parseReadyLine(child.match[0]) as string,
    auth,
    failure: "the reference server would not start",
  });
}

/** What differs between the reference server's instances and a target's. */
export interface InstanceKind {
  /** "server" or "target": instance i is named "<kind> instance i". */
  kind: string;
  count: number;
  /** Starts instance `index` (again, after a kill or a stop) and resolves once it is ready. */
  spawn(index: number): Promise<Supervised>;
  /** The instance's base URL, from its first start. */
  urlOf(child: Supervised, index: number): string;
  /** The token the instances require (`server.auth`); null: none. */
  auth: string | null;
  /** The first words of the error when an instance does not start. */
  failure: string;
  /** Runs once every instance stopped for good (a scratch directory removed). */
  cleanup?: () => Promise<void>;
}

/** Starts every instance and waits until each is ready; stops them all if one fails. */
export async function startInstanceSet(kind: InstanceKind): Promise<ServerSet> {
  const started = await Promise.allSettled(
    Array.from({ length: kind.count }, (_, index) => kind.spawn(index)),
  );
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(ok.map((child) => child.stop()));
    await kind.cleanup?.();
    const reason = errorText(failed.reason);
    throw runFailed(`${kind.failure}: ${reason}`, failed.reason);
  }
  return new SupervisedServers(
    ok.map((child, index) => ({ url: kind.urlOf(child, index), child })),
    kind,
  );
}

/** One instance: its URL (port), kept across restarts, and its current process. */
interface Instance {
  url: string;
  child: Supervised;
}

class SupervisedServers implements ServerSet {
  readonly urls: string[];
  private stopped = false;

  constructor(
    private readonly set: Instance[],
    private readonly kind: InstanceKind,
  ) {
    this.urls = set.map((instance) => instance.url);
  }

  get instances(): readonly ChildHandle[] {
    return this.set.map((instance) => instance.child.handle);
  }

  async kill(index: number): Promise<void> {
    await this.instance(index).child.stop("SIGKILL");
  }

  async start(index: number): Promise<void> {
    const instance = this.instance(index);
    const { name } = instance.child;
    if (this.stopped) throw runFailed(`cannot start ${name}: the servers were stopped`);
    if (instance.child.running()) {
      throw runFailed(`cannot start ${name}: it still runs (pid ${instance.child.handle.pid})`);
    }
    try {
      instance.child = await this.kind.spawn(index);
    } catch (error) {
      const reason = errorText(error);
      throw runFailed(`${name} would not start again on ${instance.url}: ${reason}`, error);
    }
    // stop() ran while this one was starting: it must not outlive the run.
    if (this.stopped) await instance.child.stop("SIGTERM");
  }

  async restart(index: number): Promise<void> {
    // A stalled process is resumed first, so that it shuts down cleanly.
    await this.instance(index).child.stop("SIGTERM");
    await this.start(index);
  }

  pause(index: number): void {
    const { child } = this.instance(index);
    if (!isRunning(child.handle)) throw runFailed(`cannot pause ${child.name}: it is not running`);
    child.pause();
  }

  resume(index: number): void {
    this.instance(index).child.resume();
  }

  async drop(index: number | "all", fraction: number): Promise<number> {
    const targets = index === "all" ? this.set : [this.instance(index)];
    const answers = await Promise.allSettled(
      targets.map((t) => postDrop({ name: t.child.name, url: t.url }, fraction, this.kind.auth)),
    );
    const failures = answers.flatMap((a) => (a.status === "rejected" ? [a.reason] : []));
    if (failures.length > 0) {
      const reasons = failures.map((f) => errorText(f));
      throw runFailed(`drop failed: ${reasons.join("; ")}`, failures[0]);
    }
    return answers.reduce((sum, a) => sum + (a.status === "fulfilled" ? a.value : 0), 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.set.map((instance) => instance.child.stop("SIGTERM")));
    await this.kind.cleanup?.();
  }

  private instance(index: number): Instance {
    const instance = this.set[index];
    if (instance === undefined) {
      const { length } = this.set;
      throw runFailed(
        `no ${this.kind.kind} instance ${index}: expected 0 to ${length - 1} (${length} started)`,
      );
    }
    return instance;
  }
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
