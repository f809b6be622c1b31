import { randomBytes } from "node:crypto";
import type { ProxyTls } from "../../proxy/configs.js";
import { type RunningProxy, sampleProxy, startProxy } from "../../proxy/proxy.js";
import type { ServerSample } from "../../run-model/server-sample.js";
import type { Scenario, TargetOptions } from "../../scenario/types.js";
import type { EffectiveServerSettings } from "../../shared/server-launch.js";
import { targetProtocol } from "../../targets/registry.js";
import { startCommandedServers } from "../servers/commanded.js";
import { waitHealthy, waitListening } from "../servers/health.js";
import { readServerSettings } from "../servers/server-settings.js";
import { type ServerSet, sampleServers, startServers } from "../servers/servers.js";

/** The servers one protocol's run talks to, up and answering. */
export interface Environment {
  /** One base URL per server instance. */
  urls: string[];
  /** Where clients and publishers connect: the proxy's one URL when there is one, else `urls`. */
  clientUrls: string[];
  /** The proxy in front of the instances (`server.proxy`); null: none. */
  proxy: RunningProxy | null;
  /** The proxy's CPU and memory before any client connected; null without a proxy. */
  proxyBaseline: ServerSample | null;
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
  /** TLS at the proxy and towards TLS instances (server.proxy.tls, server.tls). */
  proxyTls: ProxyTls = { front: null, upstreamCa: null },
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
  let proxy: RunningProxy | null = null;
  const stop = async () => {
    await proxy?.stop();
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
    const options = target === null ? scenario.server.proxy : null;
    if (options !== null) proxy = await startProxy(options, urls, log, proxyTls);
    const baseline = servers ? await sampleServers(servers) : null;
    const proxyBaseline = proxy ? sampleProxy(proxy) : null;
    const auth = target === null ? scenario.server.auth : null;
    const clientUrls = proxy ? [proxy.url] : urls;
    return { urls, clientUrls, proxy, proxyBaseline, servers, baseline, settings, auth, stop };
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
