import { randomBytes } from "node:crypto";
import type { Scenario, TargetOptions } from "../scenario/types.js";
import type { EffectiveServerSettings } from "../shared/server-launch.js";
import { targetProtocol } from "../targets/registry.js";
import { startCommandedServers } from "./commanded.js";
import { waitHealthy, waitListening } from "./health.js";
import { readServerSettings } from "./server-settings.js";
import { type ServerSample, type ServerSet, sampleServers, startServers } from "./servers.js";

/** The servers one protocol's run talks to, up and answering. */
export interface Environment {
  /** One base URL per server instance. */
  urls: string[];
  /**
   * The instances rtbench started (faults act on them): the reference
   * server's, or a target's from `target.command`; null against a running target.
   */
  servers: ServerSet | null;
  /** Server CPU and memory before any client connected; null where nothing is sampled. */
  baseline: ServerSample | null;
  /** What instance 0 runs with, defaults resolved; a target's settings are not ours to know. */
  settings: EffectiveServerSettings | null;
  /** The token the reference servers require (`server.auth`); null: none, or a target. */
  auth: string | null;
  /** Stops the servers rtbench started; a running target is left alone. */
  stop(): Promise<void>;
}

/**
 * Stage 1 of a protocol's run: starts the reference server instances (or a
 * target's, from its command; or takes a running target), waits until every
 * one is healthy, and samples the servers' CPU and memory before any client
 * connects.
 */
export async function environmentUp(
  scenario: Scenario,
  redisUrl: string | null,
  log: (line: string) => void,
  signal?: AbortSignal,
  /** The certificate and key the reference instances serve (server.tls); null: plain HTTP. */
  tlsFiles: { cert: string; key: string } | null = null,
  /** Where the reference server instances listen (default loopback). */
  serverHost?: string,
): Promise<Environment> {
  const target = scenario.target;
  const servers =
    target === null
      ? // Each protocol run gets broker keys of its own, so nothing one run left
        // in Redis (history, members online) is seen by the next.
        await startServers(
          scenario,
          redisUrl,
          log,
          `rtbench:${randomBytes(4).toString("hex")}:`,
          tlsFiles,
          serverHost,
        )
      : target.command === null
        ? null
        : await startTarget(target, redisUrl, log);
  const stop = async () => {
    await servers?.stop();
  };
  try {
    const urls = servers ? servers.urls : (target?.urls ?? []);
    // A commanded target waited for its own health check; the reference servers
    // and a running target are asked their protocol's health route, if it has
    // one, and a running target without one must at least accept a connection.
    const { healthPath } = targetProtocol(target?.protocol ?? "reference");
    if (healthPath !== undefined && target?.command == null) {
      await waitHealthy(urls, undefined, signal, healthPath);
    } else if (target !== null && target.command === null) {
      await waitListening(urls, undefined, signal);
    }
    // A target's settings are not ours to know.
    const settings = target === null ? await readServerSettings(urls[0] as string) : null;
    const baseline = servers ? await sampleServers(servers) : null;
    const auth = target === null ? scenario.server.auth : null;
    return { urls, servers, baseline, settings, auth, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A target's instances from its command, with the placeholders only a run knows filled in. */
async function startTarget(
  target: TargetOptions,
  redisUrl: string | null,
  log: (line: string) => void,
): Promise<ServerSet> {
  const command = target.command as NonNullable<TargetOptions["command"]>;
  const placeholders: Record<string, string> = {};
  if (redisUrl !== null) placeholders.redisUrl = redisUrl;
  const own = targetProtocol(target.protocol).commandPlaceholders ?? {};
  for (const [name, value] of Object.entries(own)) placeholders[name] = value();
  const servers = await startCommandedServers({ command, placeholders, log });
  log(`started ${command.instances} target instance(s) at ${servers.urls.join(", ")}`);
  return servers;
}
