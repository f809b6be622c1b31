import type { Scenario } from "../scenario/types.js";
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
    const baseline = servers ? await sampleServers(urls) : null;
    return { urls, servers, baseline, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The reference server instances for this run, on free loopback ports. */
function startOwnServers(
  scenario: Scenario,
  redisUrl: string | null,
  log: (line: string) => void,
): Promise<ServerSet> {
  return startServers(scenario, redisUrl, log);
}
