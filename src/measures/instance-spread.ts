import type { ProtocolResult } from "../metrics/types.js";
import { InstanceCpuTracker } from "./instance-cpu.js";
import type { Measure, MeasureProbe, MeasureRow, ProbeContext } from "./measure.js";
import type { InstanceFacts } from "./run-facts.js";

/**
 * How the load spread over the server instances when the run started more
 * than one: per instance the clients connected, the deliveries made through
 * it and the CPU seconds it spent, and the imbalance of each (max / mean):
 * 1 is perfectly even, and a sticky router's hot instance shows as a number
 * well above it. The shards count per instance (the URL a client used); the
 * measure's probe samples each instance's CPU in the window (instance-cpu.ts).
 */
export interface InstanceLoad {
  /** Clients connected to each instance when the measured window started. */
  connections: number[];
  /** Deliveries of messages scheduled in the window, by the instance they came through. */
  deliveries: number[];
  /** CPU seconds each instance spent in the window; null where it could not be sampled. */
  cpuSeconds: (number | null)[];
}

export interface Imbalance {
  connections: number | null;
  deliveries: number | null;
  cpuSeconds: number | null;
}

export interface InstanceSpreadResult {
  /**
   * Per server instance (in start order), when the run started more than
   * one: the spread a router makes. Absent in results before rtbench measured it.
   */
  instances?: InstanceLoad | null;
  /** max / mean of each per-instance figure: 1 is even; null with one instance. */
  imbalance?: Imbalance | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends InstanceSpreadResult {}
}

/** max / mean over the instances; null for one instance, a missing value or nothing at all. */
export function imbalanceOf(values: readonly (number | null)[]): number | null {
  if (values.length < 2 || values.some((v) => v === null)) return null;
  const numbers = values as number[];
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  return mean > 0 ? Math.max(...numbers) / mean : null;
}

function imbalance(load: InstanceLoad): Imbalance {
  return {
    connections: imbalanceOf(load.connections),
    deliveries: imbalanceOf(load.deliveries),
    cpuSeconds: imbalanceOf(load.cpuSeconds),
  };
}

/** Sums per-instance arrays from several shards. */
function sumByInstance(parts: readonly (readonly number[])[], instances: number): number[] {
  const total = Array.from({ length: instances }, () => 0);
  for (const part of parts) {
    part.forEach((n, i) => {
      total[i] = (total[i] ?? 0) + n;
    });
  }
  return total;
}

/** CPU seconds of each instance in the window; null where not read, or null: not sampled. */
type InstanceCpu = (number | null)[] | null;

/**
 * Samples each instance's CPU over the window, only where the spread can
 * be: servers rtbench started (a target's processes are not ours to read),
 * more than one of them.
 */
function cpuProbe({ ownServers, urls }: ProbeContext): MeasureProbe<InstanceCpu> {
  if (!ownServers || urls.length <= 1) return { finish: () => null };
  const tracker = new InstanceCpuTracker(urls);
  let used: InstanceCpu = null;
  return {
    windowStart: () => tracker.start(),
    windowEnd: async () => {
      used = await tracker.stop();
    },
    // A run that never reached the window's end has no CPU of it; the sampling stops all the same.
    finish: async () => {
      await tracker.stop();
      return used;
    },
  };
}

function instanceLoad(
  { count, shards }: InstanceFacts,
  cpuSeconds: InstanceCpu,
): InstanceLoad | null {
  if (count <= 1) return null;
  return {
    connections: sumByInstance(
      shards.map((s) => s.connections),
      count,
    ),
    deliveries: sumByInstance(
      shards.map((s) => s.deliveries),
      count,
    ),
    cpuSeconds: cpuSeconds ? [...cpuSeconds] : Array.from({ length: count }, () => null),
  };
}

/**
 * Each instance's share of a figure in percent: "60/20/20". Shares fit a
 * column where three raw counts would not; the counts are in the JSON.
 */
function sharesPerInstance(values: readonly (number | null)[] | undefined): number[] | null {
  if (values === undefined || values.some((v) => v === null)) return null;
  const total = (values as number[]).reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  return (values as number[]).map((v) => Math.round((v / total) * 100));
}

/** Shown when a run used sticky routing, where the spread is the news. */
const sticky = (p: ProtocolResult) => p.server.settings?.routing === "sticky";
const FIGURES = ["connections", "deliveries", "cpuSeconds"] as const;
const SHARE_LABELS = ["clients % per instance", "deliveries % per instance", "CPU % per instance"];
const IMBALANCE_LABELS = [
  "imbalance clients max/mean",
  "imbalance deliv. max/mean",
  "imbalance CPU max/mean",
];
const WHAT = ["clients connected", "deliveries", "server CPU seconds"];

const ratio = { type: ["number", "null"], minimum: 0 };

export const instanceSpread: Measure<InstanceSpreadResult, InstanceCpu> = {
  name: "instance-spread",
  description:
    "with several server instances: the clients, deliveries and CPU of each, and how uneven they are (max / mean)",
  probe: cpuProbe,
  result: ({ instances: facts, probe }) => {
    const instances = instanceLoad(facts, probe);
    return { instances, imbalance: instances && imbalance(instances) };
  },
  metrics: FIGURES.map((field, i) => ({
    path: `imbalance.${field}`,
    unit: "ratio",
    kind: "rate",
    better: "lower",
    description: `${WHAT[i]} per instance, max / mean (1 is even)`,
  })),
  schema: {
    instances: {
      description: "Per server instance, in start order, when the run started more than one",
      type: ["object", "null"],
      required: ["connections", "deliveries", "cpuSeconds"],
      properties: {
        connections: {
          description: "clients connected when the window started",
          type: "array",
          items: { type: "integer", minimum: 0 },
        },
        deliveries: {
          description:
            "deliveries of messages scheduled in the window, by the instance they came through",
          type: "array",
          items: { type: "integer", minimum: 0 },
        },
        cpuSeconds: {
          description: "CPU seconds spent in the window; null where not sampled",
          type: "array",
          items: { type: ["number", "null"], minimum: 0 },
        },
      },
    },
    imbalance: {
      description: "max / mean of each per-instance figure (1 is even)",
      type: ["object", "null"],
      properties: { connections: ratio, deliveries: ratio, cpuSeconds: ratio },
    },
  },
  rows: {
    after: "peak reconnects / s",
    rows: [
      ...FIGURES.map(
        (field, i): MeasureRow => ({
          label: SHARE_LABELS[i] as string,
          values: (p) => sharesPerInstance(p.instances?.[field]),
          when: sticky,
        }),
      ),
      ...FIGURES.map(
        (field, i): MeasureRow => ({
          label: IMBALANCE_LABELS[i] as string,
          value: (p) => p.imbalance?.[field] ?? null,
          when: sticky,
        }),
      ),
    ],
  },
};
