/**
 * What the broker did: operations by kind, read at the edges of the measured
 * window. Redis counts its own commands (`INFO commandstats`, commands run
 * inside scripts included); the in-process memory broker counts its
 * operations and the reference server reports them on /metrics. Only for
 * servers rtbench started: a running target's broker is not ours to read.
 */
import { Redis } from "ioredis";
import type { Measure } from "./measure.js";

export interface BrokerCost {
  /** Operations in the window, all kinds (Redis commands, scripts' own commands included). */
  operations: number;
  /** ÷ messages published (acknowledged) in the window. */
  operationsPerMessage: number | null;
  /** Operations in the window by kind: Redis command, or memory broker operation. */
  byKind: Record<string, number>;
}

/** In a protocol's result: null where rtbench cannot read it (a target). */
export interface BrokerCostResult {
  broker?: BrokerCost | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends BrokerCostResult {}
}

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

interface WindowOps {
  start: BrokerOps | null;
  end: BrokerOps | null;
}

export const brokerCostMeasure: Measure<BrokerCostResult, WindowOps | null> = {
  name: "broker-cost",
  description: "broker operations in the window, by kind and per published message",
  probe: ({ ownServers, brokerUrl, urls, signal }) => {
    if (!ownServers) return { finish: () => null };
    const ops: WindowOps = { start: null, end: null };
    const sample = async () => (signal.aborted ? null : sampleBrokerOps(brokerUrl, urls));
    return {
      windowStart: async () => {
        ops.start = await sample();
      },
      windowEnd: async () => {
        ops.end = await sample();
      },
      finish: () => ops,
    };
  },
  result: ({ probe, published }) => ({
    broker: probe && brokerCost(probe.start, probe.end, published),
  }),
  metrics: [
    {
      path: "broker.operationsPerMessage",
      unit: "ratio",
      kind: "rate",
      better: "lower",
      description:
        "broker operations per published message (Redis commands, or the memory broker's own)",
    },
    {
      path: "broker.operations",
      unit: "count",
      kind: "count",
      better: null,
      description: "broker operations in the window",
    },
  ],
  schema: {
    broker: {
      description:
        "what the broker did in the window (Redis INFO commandstats deltas, or the memory broker's own counts)",
      type: ["object", "null"],
      required: ["operations", "operationsPerMessage", "byKind"],
      properties: {
        operations: { type: "integer", minimum: 0 },
        operationsPerMessage: { type: ["number", "null"], minimum: 0 },
        byKind: { type: "object", additionalProperties: { type: "integer", minimum: 0 } },
      },
    },
  },
  rows: {
    after: "gap markers",
    rows: [
      {
        label: "broker ops / message",
        value: (r) => r.broker?.operationsPerMessage,
        // Shown with a read or tiered fan-out, where the broker's work per message is the news.
        when: (r) => (r.server.settings?.fanout ?? "write") !== "write",
      },
    ],
  },
};
