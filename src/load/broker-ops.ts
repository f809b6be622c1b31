/**
 * What the broker did: operations by kind, read at the edges of the measured
 * window. Redis counts its own commands (`INFO commandstats`, commands run
 * inside scripts included); the in-process memory broker counts its
 * operations and the reference server reports them on /metrics.
 */
import { Redis } from "ioredis";
import type { BrokerCost } from "../metrics/types.js";

export type BrokerOps = Record<string, number>;

/** Commands rtbench itself sends to read the counts: not the workload's. */
const OWN_COMMANDS = new Set(["info", "config|resetstat", "quit", "hello", "client|setinfo"]);

/** Operations so far; null when the broker cannot say. */
export async function sampleBrokerOps(
  brokerUrl: string | null,
  serverUrls: readonly string[],
): Promise<BrokerOps | null> {
  if (brokerUrl === null) return memoryBrokerOps(serverUrls);
  // Redis counts its commands; NATS has no such count on its client port.
  return brokerUrl.startsWith("redis") ? redisCommandStats(brokerUrl) : null;
}

export function brokerCost(
  start: BrokerOps | null,
  end: BrokerOps | null,
  messages: number,
): BrokerCost | null {
  if (start === null || end === null) return null;
  const byKind: Record<string, number> = {};
  let operations = 0;
  for (const [kind, count] of Object.entries(end)) {
    const delta = count - (start[kind] ?? 0);
    if (delta <= 0) continue;
    byKind[kind] = delta;
    operations += delta;
  }
  return {
    operations,
    operationsPerMessage: messages > 0 ? operations / messages : null,
    byKind,
  };
}

/** `cmdstat_hincrby:calls=12,...` lines, as calls by command. */
export function parseCommandStats(info: string): BrokerOps {
  const ops: BrokerOps = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const command = match[1] as string;
    if (!OWN_COMMANDS.has(command)) ops[command] = Number(match[2]);
  }
  return ops;
}

async function redisCommandStats(url: string): Promise<BrokerOps | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return parseCommandStats(await redis.info("commandstats"));
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** The memory brokers' own counts, summed over the instances; null if one cannot say. */
async function memoryBrokerOps(urls: readonly string[]): Promise<BrokerOps | null> {
  const total: BrokerOps = {};
  for (const url of urls) {
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      for (const match of text.matchAll(
        /^rtbench_broker_operations_total\{op="([^"]+)"\} (\d+)$/gm,
      )) {
        const kind = match[1] as string;
        total[kind] = (total[kind] ?? 0) + Number(match[2]);
      }
    } catch {
      return null;
    }
  }
  return total;
}
