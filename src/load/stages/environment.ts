import type { ProxyTls } from "../../proxy/configs.js";
import { type RunningProxy, sampleProxy, startProxy } from "../../proxy/proxy.js";
import type { ServerSample } from "../../run-model/server-sample.js";
import type { EffectiveServerSettings } from "../../shared/server-launch.js";
import { type ServerSet, sampleServers } from "../servers/servers.js";
import type { SystemUnderTest, UpContext } from "../servers/system-under-test.js";

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
 * Stage 1 of a protocol's run: brings the system under test up (starts the
 * instances rtbench owns, or takes a running target), waits until every one
 * is healthy, starts the proxy in front of them, and samples the servers'
 * CPU and memory before any client connects.
 */
export async function environmentUp(
  system: SystemUnderTest,
  context: UpContext,
  /** TLS at the proxy and towards TLS instances (server.proxy.tls, server.tls). */
  proxyTls: ProxyTls = { front: null, upstreamCa: null },
): Promise<Environment> {
  const { servers, urls } = await system.up(context);
  let proxy: RunningProxy | null = null;
  const stop = async () => {
    await proxy?.stop();
    await servers?.stop();
  };
  try {
    const settings = await system.settings(urls);
    if (system.proxy !== null) {
      proxy = await startProxy(system.proxy, urls, context.log, proxyTls);
    }
    const baseline = servers ? await sampleServers(servers) : null;
    const proxyBaseline = proxy ? sampleProxy(proxy) : null;
    const clientUrls = proxy ? [proxy.url] : urls;
    return {
      urls,
      clientUrls,
      proxy,
      proxyBaseline,
      servers,
      baseline,
      settings,
      auth: system.auth,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
