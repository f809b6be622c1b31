import type { ControlTraffic, WorkerClock } from "../run-model/workers.js";
import type { Measure } from "./measure.js";

/**
 * With workers (`rtbench run --workers N`): the clock bound, judged, and
 * what the workers cost and lost. Each worker's clock offset to the
 * publisher's is estimated over its control connection
 * (load/workers/clock-sync.ts), and a one-way latency, whose receive time
 * is read on another machine's clock than the stamp, is within the widest
 * bound of the truth: above `workers.maxClockBound` latency is unreliable
 * (the table marks it "?", report/clock-report.ts, and thresholds on it
 * say so). Every field is absent from a run on one host.
 */

/** The clock part of a protocol's result: every worker's bound, and whether latency can be trusted. */
export interface ClockResult {
  workers: WorkerClock[];
  /** The widest worker bound, ms: every one-way latency is within it of the truth. */
  boundMs: number;
  /** `workers.maxClockBound`, ms. */
  limitMs: number;
  /** Why one-way latency is unreliable (a bound above the limit); absent when it is reliable. */
  unreliable?: string;
}

export interface WorkersResult {
  /**
   * Every worker's clock offset to the publisher's clock and its bound;
   * one-way latency is within `boundMs` of the truth. `unreliable` says why
   * latency is not to be trusted (a bound above `workers.maxClockBound`).
   */
  clock?: ClockResult;
  /**
   * Workers that died or stopped heartbeating: their clients are counted as
   * lost connections and left out of every other number; the run is `partial`.
   */
  lostWorkers?: { worker: string; reason: string; clients: number }[];
  /** How many, and what their control connections (reports, heartbeats, clock exchanges) cost the coordinator per worker per second. */
  workers?: ControlTraffic;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends WorkersResult {}
}

/** Judges the workers' bounds against `workers.maxClockBound`. */
export function clockResult(workers: WorkerClock[], limitMs: number): ClockResult {
  const boundMs = workers.reduce((max, w) => Math.max(max, w.boundMs), 0);
  const over = workers.filter((w) => w.boundMs > limitMs);
  const result: ClockResult = { workers, boundMs, limitMs };
  if (over.length > 0) {
    const named = over.map((w) => `${w.worker} ±${w.boundMs.toFixed(2)} ms`).join(", ");
    result.unreliable = `clock offset bound above workers.maxClockBound ${limitMs} ms: ${named}`;
  }
  return result;
}

export const workers: Measure<WorkersResult> = {
  name: "workers",
  description:
    "with workers: each one's clock offset bound (one-way latency is within it), the workers lost, and their control traffic",
  result: ({ clocks, missing, controlTraffic, scenario }) => {
    const lost = missing.workers.map((m) => ({
      worker: m.name,
      reason: m.reason,
      clients: m.lostClients,
    }));
    return {
      ...(clocks ? { clock: clockResult([...clocks], scenario.workers.maxClockBoundMs) } : {}),
      ...(lost.length > 0 ? { lostWorkers: lost } : {}),
      ...(controlTraffic ? { workers: controlTraffic } : {}),
    };
  },
  // Its bound is read by the latency cells and thresholds, not as a metric of its own.
  metrics: [],
  schema: {
    clock: {
      description:
        "With workers (rtbench run --workers N): every worker's clock offset to the publisher's (coordinator's) clock, measured NTP-style over its control connection, and its bound (half the best round trip). One-way latency (latency, latencyFromSend) is within boundMs of the truth. Absent for a run on one host.",
      type: "object",
      required: ["workers", "boundMs", "limitMs"],
      properties: {
        workers: {
          type: "array",
          items: {
            type: "object",
            required: ["worker", "offsetMs", "boundMs"],
            properties: {
              worker: { type: "string", description: "worker 2" },
              offsetMs: {
                type: "number",
                description:
                  "The last offset applied, ms: the coordinator's clock minus the worker's.",
              },
              boundMs: {
                type: "number",
                description: "The widest bound of the estimates applied during the run, ms.",
              },
            },
          },
        },
        boundMs: { type: "number", description: "The widest worker bound, ms." },
        limitMs: { type: "number", description: "workers.maxClockBound, ms." },
        unreliable: {
          type: "string",
          description:
            "Why one-way latency is UNRELIABLE (a worker's bound above workers.maxClockBound); absent when it is reliable. Loss, duplicates, connect times and bytes are unaffected.",
        },
      },
    },
    lostWorkers: {
      description:
        "Workers that died or stopped heartbeating during the run: their clients are counted here as lost connections and left out of every other number; the run's status is partial.",
      type: "array",
      items: {
        type: "object",
        required: ["worker", "reason", "clients"],
        properties: {
          worker: { type: "string" },
          reason: { type: "string" },
          clients: { type: "integer", minimum: 0 },
        },
      },
    },
    workers: {
      description:
        "With workers (rtbench run --workers N): how many, and what their control connections (reports, heartbeats, clock exchanges; payload bytes) cost the coordinator per worker per second, from the start of their shards to their last report.",
      type: "object",
      required: ["count", "controlBytesInPerWorkerPerSec", "controlBytesOutPerWorkerPerSec"],
      properties: {
        count: { type: "integer", minimum: 1 },
        controlBytesInPerWorkerPerSec: { type: "number" },
        controlBytesOutPerWorkerPerSec: { type: "number" },
      },
    },
  },
};
