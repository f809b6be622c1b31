import type { Scenario } from "../scenario/types.js";
import { runFailed } from "../shared/errors.js";
import { type ChildHandle, startChild } from "../util/children.js";
import { freePort } from "../util/net.js";
import { compiledEntry } from "../util/paths.js";

/** Server instances a run started, each its own process so its CPU and memory are its own. */
export interface ServerSet {
  urls: string[];
  instances: ChildHandle[];
  stop(): Promise<void>;
}

export interface ServerSample {
  cpuSeconds: number;
  rssBytes: number;
}

/** Starts `scenario.server.instances` reference server processes on free loopback ports. */
export async function startServers(
  scenario: Scenario,
  redisUrl: string | null,
): Promise<ServerSet> {
  const entry = compiledEntry("reference-server/main.js");
  const { server } = scenario;
  const started = await Promise.allSettled(
    Array.from({ length: server.instances }, async (_, i) => {
      const port = await freePort();
      const args = [
        entry,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--broker",
        server.broker,
        "--heartbeat-interval-ms",
        String(server.heartbeatIntervalMs),
        "--history-max-count",
        String(server.history.maxCount),
        "--history-max-age-ms",
        String(server.history.maxAgeMs),
        "--max-body-bytes",
        String(server.maxBodyBytes),
        "--delivery-delay-ms",
        String(server.deliveryDelayMs),
        "--instance-id",
        String(i),
      ];
      if (server.broker === "redis" && redisUrl) args.push("--redis-url", redisUrl);
      const { handle, match } = await startChild({
        name: `server instance ${i}`,
        command: process.execPath,
        args,
        detached: true,
        readyPattern: /^rtbench-server listening (\S+)$/,
      });
      return { handle, url: match[1] as string };
    }),
  );
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(ok.map((s) => s.handle.stop()));
    const reason = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
    throw runFailed(`the reference server would not start: ${reason}`, failed.reason);
  }
  return {
    urls: ok.map((s) => s.url),
    instances: ok.map((s) => s.handle),
    stop: async () => {
      await Promise.all(ok.map((s) => s.handle.stop("SIGTERM", 5000)));
    },
  };
}

/** Waits until every URL answers /healthz with 200. */
export async function waitHealthy(urls: string[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    for (;;) {
      try {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline)
        throw runFailed(`${url}/healthz did not answer 200 within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * CPU seconds and resident memory summed over the instances, read from their
 * Prometheus /metrics. Null when a server does not expose them (a `target`
 * that is not the reference server): its cost is then reported as n/a.
 */
export async function sampleServers(urls: string[]): Promise<ServerSample | null> {
  let cpuSeconds = 0;
  let rssBytes = 0;
  for (const url of urls) {
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      const cpu = metricValue(text, "process_cpu_seconds_total");
      const rss = metricValue(text, "process_resident_memory_bytes");
      if (cpu === null || rss === null) return null;
      cpuSeconds += cpu;
      rssBytes += rss;
    } catch {
      return null;
    }
  }
  return { cpuSeconds, rssBytes };
}

function metricValue(text: string, name: string): number | null {
  const match = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m"));
  return match ? Number(match[1]) : null;
}
