import { type Command, Option } from "commander";
import { WorkerHub } from "../load/workers/coordinator.js";
import { type LocalWorkers, startLocalWorkers } from "../load/workers/local.js";
import {
  createWorkerNetwork,
  namespacesUnavailable,
  type WorkerNetwork,
} from "../load/workers/netns.js";
import { parseDuration } from "../scenario/units.js";
import { badInput, runFailed } from "../shared/errors.js";

/** `rtbench run --workers N [--local] [--coordinator-listen HOST:PORT] [--worker-wait D]`. */
export interface WorkerFlags {
  workers?: string;
  local?: boolean;
  coordinatorListen?: string;
  workerWait: string;
}

export interface WorkerSettings {
  count: number;
  local: boolean;
  host: string;
  port: number;
  waitMs: number;
  /** --coordinator-listen was given: it wins over the namespaces' bridge address. */
  listenGiven: boolean;
}

const MAX_WORKERS = 1000;

export function addWorkerOptions(command: Command): Command {
  return command
    .option(
      "--workers <n>",
      "run the clients on N workers (`rtbench worker`) instead of this host's shards; see docs/workers.md",
    )
    .option("--local", "with --workers: start the N workers here as separate processes")
    .option(
      "--coordinator-listen <host:port>",
      "with --workers: where workers connect (default 127.0.0.1:0 with --local, 0.0.0.0:7070 without)",
    )
    .addOption(
      new Option(
        "--worker-wait <duration>",
        "with --workers: how long to wait for every worker to connect (then exit 3)",
      ).default("120s"),
    );
}

/** The worker flags, checked (exit 2); null without --workers. */
export function readWorkerFlags(flags: WorkerFlags): WorkerSettings | null {
  if (flags.workers === undefined) {
    for (const [flag, set] of [
      ["--local", flags.local],
      ["--coordinator-listen", flags.coordinatorListen],
    ] as const) {
      if (set !== undefined) throw badInput(`${flag}: needs --workers N`);
    }
    return null;
  }
  const count = Number(flags.workers);
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw badInput(
      `--workers: expected a whole number of workers from 1 to ${MAX_WORKERS}, found "${flags.workers}"`,
    );
  }
  const listen = flags.coordinatorListen ?? (flags.local ? "127.0.0.1:0" : "0.0.0.0:7070");
  const match = /^(.+):(\d+)$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) {
    throw badInput(
      `--coordinator-listen: expected HOST:PORT (e.g. 0.0.0.0:7070), found "${listen}"`,
    );
  }
  const waitMs = durationFlag("--worker-wait", flags.workerWait);
  const host = (match[1] as string).replace(/^\[(.*)\]$/, "$1");
  return {
    count,
    local: flags.local === true,
    host,
    port,
    waitMs,
    listenGiven: flags.coordinatorListen !== undefined,
  };
}

/** The default loopback address: servers stay on it (other loopback addresses are used as given). */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "127.0.0.1";
}

/** A duration flag's value in ms; exit 2 naming the flag when it is not a duration. */
export function durationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw badInput(`${flag}: expected a duration like 30s or 2m, found "${text}"`);
  }
}

/**
 * Runs `body` with the workers connected: listens, starts them with
 * --local, waits for all of them, and on the way out releases them (they
 * exit 0) and stops the local ones.
 */
export async function withWorkers<T>(
  settings: WorkerSettings,
  log: (line: string) => void,
  /** Why local workers cannot run in namespaces for these scenarios (a target, TLS); null: they can. */
  namespaceBlocker: string | null,
  body: (hub: WorkerHub) => Promise<T>,
): Promise<T> {
  // Until the run's own Ctrl-C handling takes over (measure.ts), a signal ends the
  // setup through the `finally` below: namespaces made so far are removed, not left.
  const abort = new AbortController();
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onSignal = () => abort.abort();
  for (const name of signals) process.on(name, onSignal);
  const stopped = () => {
    if (abort.signal.aborted) throw runFailed("stopped while starting the workers");
  };
  let network: WorkerNetwork | null = null;
  let hub: WorkerHub | null = null;
  let local: LocalWorkers | null = null;
  try {
    if (settings.local) {
      const why = namespaceBlocker ?? (await namespacesUnavailable());
      if (why === null) {
        network = await createWorkerNetwork(settings.count);
        log(
          `local workers in network namespaces of their own (${network.workerAddress(0)}...), the host at ${network.hostAddress}`,
        );
      } else log(`local workers are plain processes on loopback (no network namespaces: ${why})`);
    }
    stopped();
    const host = network && !settings.listenGiven ? network.hostAddress : settings.host;
    hub = await WorkerHub.listen(host, settings.port, settings.count, log);
    // Workers elsewhere reach the servers where they reach the coordinator (worker.ts reachableFrom).
    hub.serverHost = network?.hostAddress ?? (isLoopback(host) ? null : host);
    if (settings.local) local = await startLocalWorkers(settings.count, hub.url, log, network);
    else
      log(
        `waiting for ${settings.count} workers at ${hub.url} (rtbench worker --coordinator ws://THIS-HOST:PORT)`,
      );
    stopped();
    await hub.waitForWorkers(settings.waitMs, abort.signal);
    for (const name of signals) process.off(name, onSignal);
    return await body(hub);
  } finally {
    for (const name of signals) process.off(name, onSignal);
    await hub?.close();
    await local?.stop();
    await network?.remove();
  }
}
