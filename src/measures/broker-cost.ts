/**
 * What the broker did: operations by kind, read at the edges of the measured
 * window. A backing service answers for its own counts (src/services/:
 * Redis its commands from `INFO commandstats`, scripts' own included; NATS
 * the messages in and out on its monitoring port); the in-process memory
 * broker counts its operations and the reference server reports them on
 * /metrics. Only for servers rtbench started: a running target's broker is
 * not ours to read.
 */
import type { OperationCounts } from "../services/types.js";
import { errorText } from "../shared/errors.js";
import type { Measure } from "./measure.js";

export interface BrokerCost {
  /** Operations in the window, all kinds (Redis commands, scripts' own commands included). */
  operations: number;
  /** ÷ messages published (acknowledged) in the window. */
  operationsPerMessage: number | null;
  /** Operations in the window by kind: Redis command, NATS messages in or out, or memory broker operation. */
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

/**
 * Operations so far, or why the broker cannot say. A backing service
 * answers for its own (src/services/); the memory broker, inside the
 * servers, is counted by them.
 */
export async function sampleBrokerOps(
  brokerOperations: (() => Promise<OperationCounts>) | null,
  serverUrls: readonly string[],
): Promise<OperationCounts> {
  return brokerOperations === null ? memoryBrokerOps(serverUrls) : brokerOperations();
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

/** The memory brokers' own counts, summed over the instances; null if one cannot say. */
async function memoryBrokerOps(urls: readonly string[]): Promise<OperationCounts> {
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
    } catch (error) {
      return { counts: null, reason: `GET ${url}/metrics failed: ${errorText(error)}` };
    }
  }
  return { counts: total };
}

interface WindowOps {
  start: BrokerOps | null;
  end: BrokerOps | null;
}

export const brokerCostMeasure: Measure<BrokerCostResult, WindowOps | null> = {
  name: "broker-cost",
  description: "broker operations in the window, by kind and per published message",
  probe: ({ ownServers, brokerOperations, urls, signal, log }) => {
    if (!ownServers) return { finish: () => null };
    const ops: WindowOps = { start: null, end: null };
    let told = false;
    const sample = async () => {
      if (signal.aborted) return null;
      const read = await sampleBrokerOps(brokerOperations, urls);
      if (read.counts === null && !told) {
        told = true;
        log(`broker cost: n/a: ${read.reason}`);
      }
      return read.counts;
    };
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
        "broker operations per published message (Redis commands, NATS messages in and out, or the memory broker's own)",
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
        "what the broker did in the window (Redis INFO commandstats deltas, NATS /varz in_msgs and out_msgs deltas, or the memory broker's own counts)",
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
