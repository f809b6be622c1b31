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
import { restartedServer } from "./server-cost.js";

export interface BrokerCost {
  /** Operations in the window, all kinds (Redis commands, scripts' own commands included). */
  operations: number;
  /** ÷ messages published (acknowledged) in the window. */
  operationsPerMessage: number | null;
  /** Operations in the window by kind: Redis command, NATS messages in or out, or memory broker operation. */
  byKind: Record<string, number>;
}

/** In a protocol's result: null where rtbench cannot read it (a target), or across a restart of its counters. */
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

/** Operations from `start` to `end`, by kind; null when either is unknown. */
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

/** Faults that start a backing service (Redis, NATS) again, and its counters at 0 with it. */
const SERVICE_RESTARTS: ReadonlySet<string> = new Set([
  "broker-stop",
  "broker-restart",
  "redis-restart",
]);

/**
 * Why the counts from `start` to `end` do not say what the broker did, or
 * null when they do. Every counter read here (Redis INFO commandstats, NATS
 * /varz, the memory broker's own) starts again at 0 when what keeps it
 * restarts: the backing service on a broker fault; for the memory broker,
 * the server instance it runs in on a kill or restart. A counter below its
 * start says the same when no fault does (a crash, a restart by hand).
 */
function uncountable(ops: WindowOps, faults: readonly { action: string }[]): string | null {
  const restart = faults.find((f) => SERVICE_RESTARTS.has(f.action));
  if (restart && !ops.memory) {
    return `a ${restart.action} fault restarted the broker's service, whose counters start again at 0`;
  }
  if (ops.memory && restartedServer(faults)) {
    return "a kill or restart fault restarted a server instance, and the memory broker's counters in it";
  }
  const { start, end } = ops;
  if (start === null || end === null) return null;
  for (const [kind, count] of Object.entries(start)) {
    const now = end[kind] ?? 0;
    if (now < count)
      return `the count of ${kind} went back from ${count} to ${now}: the broker restarted`;
  }
  return null;
}

/** The memory brokers' own counts, summed over the instances; the counts are null, with the reason, if one cannot say. */
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

/** The counts at the window's edges; `memory`: the memory broker's, counted by the server instances. */
interface WindowOps {
  start: BrokerOps | null;
  end: BrokerOps | null;
  memory: boolean;
}

export const brokerCostMeasure: Measure<BrokerCostResult, WindowOps | null> = {
  name: "broker-cost",
  description: "broker operations in the window, by kind and per published message",
  probe: ({ ownServers, brokerOperations, urls, faults, signal, log }) => {
    if (!ownServers) return { finish: () => null };
    const ops: WindowOps = { start: null, end: null, memory: brokerOperations === null };
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
      finish: () => {
        // The result decides by the faults that fired; the log says why by those planned
        // (the same ones, unless the run stopped before one).
        const why = uncountable(ops, faults);
        if (why !== null && !told) log(`broker cost: n/a: ${why}`);
        return ops;
      },
    };
  },
  result: ({ probe, published, faults }) => ({
    broker:
      probe && uncountable(probe, faults) === null
        ? brokerCost(probe.start, probe.end, published)
        : null,
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
        "what the broker did in the window (Redis INFO commandstats deltas, NATS /varz in_msgs and out_msgs deltas, or the memory broker's own counts); null where rtbench cannot read them, or when what keeps them restarted during the run (a broker-stop, broker-restart or redis-restart fault; for the memory broker, a kill or restart)",
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
