/**
 * The parts of a protocol's result that measure the server's architecture
 * rather than the transport: how load spread over the instances, how
 * churned clients caught up, and how true the presence lists were (what the
 * broker did is a measure: measures/broker-cost.ts). Pure, like result.ts.
 */
import {
  createLatencyHistogram,
  recordMs,
  summarizeEncoded,
  summarizeHistogram,
} from "../metrics/histogram.js";
import type { PresenceAccuracy, ProtocolResult } from "../metrics/types.js";
import type { ShardReport } from "../run-model/shard-report.js";
import type { FaultRecord } from "./faults.js";
import { imbalance, sumByInstance } from "./instance-load.js";
import { auditPresence, type PresenceSample } from "./presence-audit.js";

/** A fresh connection this young may not be in the presence list yet without being missing. */
export const PRESENCE_GRACE_MS = 250;

export interface ArchitectureInput {
  reports: ShardReport[];
  /** Server instances of the run. */
  instanceCount: number;
  instanceCpuSeconds: (number | null)[] | null;
  presenceSamples: PresenceSample[] | null;
  /** Messages published (acknowledged) in the window. */
  published: number;
  windowSeconds: number;
  /** Whether the scenario has churn (else no catch-up is reported). */
  churn: boolean;
  faults: FaultRecord[];
  /** Fault records count from here (monotonic ms): the start of ramp-up. */
  faultClockStartMs: number;
}

export type ArchitectureMetrics = Pick<
  ProtocolResult,
  "instances" | "imbalance" | "catchUp" | "presence"
>;

export function architectureMetrics(input: ArchitectureInput): ArchitectureMetrics {
  const { reports, instanceCount } = input;
  const instances =
    instanceCount > 1
      ? {
          connections: sumByInstance(
            reports.map((r) => r.instances.connections),
            instanceCount,
          ),
          deliveries: sumByInstance(
            reports.map((r) => r.instances.deliveries),
            instanceCount,
          ),
          cpuSeconds: input.instanceCpuSeconds ?? Array.from({ length: instanceCount }, () => null),
        }
      : null;
  return {
    instances,
    imbalance: instances && imbalance(instances),
    catchUp: input.churn ? summarizeEncoded(reports.map((r) => r.catchUp)) : null,
    presence: input.presenceSamples && presenceAccuracy(input),
  };
}

function presenceAccuracy(input: ArchitectureInput): PresenceAccuracy {
  const freezes = input.faults
    .filter((f) => f.action === "stall-clients")
    .map((f): [number, number] => [
      input.faultClockStartMs + f.firedAtMs,
      input.faultClockStartMs + (f.endedAtMs ?? Number.POSITIVE_INFINITY),
    ]);
  const audit = auditPresence({
    samples: input.presenceSamples ?? [],
    connections: input.reports.flatMap((r) => r.connections ?? []),
    freezes,
    graceMs: PRESENCE_GRACE_MS,
  });
  const staleness = createLatencyHistogram();
  for (const ms of audit.stalenessMs) recordMs(staleness, ms);
  return {
    samples: audit.samples,
    listed: audit.listed,
    ghosts: audit.ghosts,
    ghostShare: audit.listed > 0 ? audit.ghosts / audit.listed : null,
    connected: audit.connected,
    missing: audit.missing,
    missingShare: audit.connected > 0 ? audit.missing / audit.connected : null,
    staleness: summarizeHistogram(staleness),
    censored: audit.censored,
  };
}
