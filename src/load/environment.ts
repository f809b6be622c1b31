import { randomBytes } from "node:crypto";
import type { Scenario } from "../scenario/types.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";
import { readServerSettings } from "./server-settings.js";
import {
  type ServerSample,
  type ServerSet,
  sampleServers,
  startServers,
  waitHealthy,
} from "./servers.js";

/** The servers one protocol's run talks to, up and answering. */
export interface Environment {
  /** One base URL per server instance. */
  urls: string[];
  /** The instances rtbench started (faults act on them); null against a `target`. */
  servers: ServerSet | null;
  /** Server CPU and memory before any client connected; null against a `target`. */
  baseline: ServerSample | null;
  /** What instance 0 runs with, defaults resolved; a target's settings are not ours to know. */
  settings: EffectiveServerSettings | null;
  /** Stops the servers rtbench started; a `target` is left alone. */
  stop(): Promise<void>;
}

/**
 * Stage 1 of a protocol's run: starts the reference server instances (or
 * takes the scenario's `target`), waits until every one answers /healthz,
 * and samples the servers' CPU and memory before any client connects.
 */
export async function environmentUp(
  scenario: Scenario,
  redisUrl: string | null,
  log: (line: string) => void,
): Promise<Environment> {
  const servers = scenario.target ? null : await startOwnServers(scenario, redisUrl, log);
  const stop = async () => {
    await servers?.stop();
  };
  try {
    const urls = servers ? servers.urls : (scenario.target?.urls ?? []);
    await waitHealthy(urls);
    const settings = servers ? await readServerSettings(urls[0] as string) : null;
    const baseline = servers ? await sampleServers(urls) : null;
    return { urls, servers, baseline, settings, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The reference server instances for this run, on free loopback ports. Each
 * protocol run gets broker keys of its own, so nothing one run left in Redis
 * (history, members online) is seen by the next.
 */
function startOwnServers(
  scenario: Scenario,
  redisUrl: string | null,
  log: (line: string) => void,
): Promise<ServerSet> {
  return startServers(scenario, redisUrl, log, `rtbench:${randomBytes(4).toString("hex")}:`);
}
