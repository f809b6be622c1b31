import type { ProcessLoad } from "../../metrics/process-load.js";
import type { GeneratorOptions, SaturationOptions } from "../../scenario/types.js";

/**
 * Who saturated: rtbench or the server. Two verdicts, each with the evidence
 * in words. A saturated generator makes the numbers rtbench's, not the
 * server's (UNRELIABLE). A saturated server is a finding about the server
 * (SATURATED): the numbers are true, and they say the server is the limit.
 * Pure: every number comes in, two verdicts come out.
 */
export interface Verdict {
  saturated: boolean;
  /** One line of evidence per reason, e.g. "server instance 0 at 98% CPU (limit 90%)". */
  reasons: string[];
}

export interface SaturationEvidence {
  generator: GeneratorOptions;
  saturation: SaturationOptions;
  /** Every process watched: the parent (publisher), the shards, the servers rtbench started. */
  processes: ProcessLoad[];
  /** Worst event-loop delay p99 of rtbench's processes, ms. */
  eventLoopDelayP99Ms: number;
  /** Worst send delay behind schedule with a slot free (the event loop woke late), ms. */
  publisherLagMs: number;
  /** Shards that left no report, with why. */
  missingShards: { name: string; reason: string; crashed: boolean }[];
  /** Mean latency of the first and last third of the window; null when it cannot be told. */
  latencyThirds: { firstMs: number; lastMs: number } | null;
  /** Faults fired in the run: latency jumps and answers wait then, so only CPU is judged. */
  hadFaults: boolean;
  acks: { late: number; unanswered: number; storedUnacknowledged: number };
  ackTimeoutMs: number;
  /** Worst send delay because every publish slot waited for an answer, ms. */
  slotWaitMs: number;
  maxInFlight: number;
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const ms = (value: number) =>
  value >= 1000 ? `${(value / 1000).toPrecision(3)} s` : `${value.toPrecision(3)} ms`;

export function judgeSaturation(e: SaturationEvidence): {
  generator: Verdict;
  server: Verdict;
} {
  const generator = generatorReasons(e);
  const headroom = generator.length === 0;
  const server = serverReasons(e, headroom);
  return {
    generator: { saturated: generator.length > 0, reasons: generator },
    server: { saturated: server.length > 0, reasons: server },
  };
}

function generatorReasons(e: SaturationEvidence): string[] {
  const limits = e.generator;
  const reasons: string[] = [];
  // A shard that crashed on an error makes the run invalid (invalidReasons); only
  // one killed or silent under load says the generator was the limit.
  for (const shard of e.missingShards) {
    if (shard.crashed) continue;
    reasons.push(`${shard.name} ${shard.reason}; its clients are missing from the numbers`);
  }
  for (const p of e.processes) {
    if (p.role === "server") continue;
    if (p.cpuShare !== null && p.cpuShare >= limits.maxCpuShare) {
      reasons.push(
        `${p.name} at ${percent(p.cpuShare)} CPU (limit ${percent(limits.maxCpuShare)})`,
      );
    }
    const elu = p.eventLoopUtilization;
    if (elu !== null && elu >= limits.maxEventLoopUtilization) {
      reasons.push(
        `${p.name} event loop busy ${percent(elu)} of the time (limit ${percent(limits.maxEventLoopUtilization)})`,
      );
    }
  }
  if (e.eventLoopDelayP99Ms > limits.maxEventLoopDelayMs) {
    reasons.push(
      `event-loop delay p99 ${ms(e.eventLoopDelayP99Ms)} (limit ${ms(limits.maxEventLoopDelayMs)})`,
    );
  }
  if (e.publisherLagMs > limits.maxEventLoopDelayMs) {
    reasons.push(
      `publisher ${ms(e.publisherLagMs)} behind schedule with a slot free (limit ${ms(limits.maxEventLoopDelayMs)})`,
    );
  }
  return reasons;
}

/**
 * Server CPU is the server's own number and counts whatever rtbench did.
 * Rising latency and late acknowledgements are blamed on the server only
 * when rtbench's processes had headroom: a starved generator is late too.
 */
function serverReasons(e: SaturationEvidence, generatorHeadroom: boolean): string[] {
  const limits = e.saturation;
  const reasons: string[] = [];
  for (const p of e.processes) {
    if (p.role !== "server" || p.cpuShare === null) continue;
    if (p.cpuShare >= limits.serverCpuShare) {
      reasons.push(
        `${p.name} at ${percent(p.cpuShare)} CPU (limit ${percent(limits.serverCpuShare)})`,
      );
    }
  }
  // A fault (a stalled or killed instance) makes latency jump and answers wait: not saturation.
  if (!generatorHeadroom || e.hadFaults) return reasons;
  const thirds = e.latencyThirds;
  if (
    thirds !== null &&
    thirds.lastMs - thirds.firstMs > limits.latencyRiseMs &&
    thirds.lastMs > limits.latencyRiseFactor * thirds.firstMs
  ) {
    reasons.push(
      `latency rose from ${ms(thirds.firstMs)} to ${ms(thirds.lastMs)} through the window (first to last third) while rtbench had headroom`,
    );
  }
  const { late, unanswered, storedUnacknowledged } = e.acks;
  if (late > 0) {
    reasons.push(`${late} publishes acknowledged late (after ${ms(e.ackTimeoutMs)})`);
  }
  if (unanswered > 0) {
    const stored =
      storedUnacknowledged > 0
        ? `; ${storedUnacknowledged} unacknowledged messages were delivered all the same`
        : "";
    reasons.push(`${unanswered} publishes never acknowledged${stored}`);
  }
  if (e.slotWaitMs > e.generator.maxEventLoopDelayMs) {
    reasons.push(
      `all ${e.maxInFlight} publish slots waited for acknowledgements: sends fell up to ${ms(e.slotWaitMs)} behind schedule (publish.maxInFlight)`,
    );
  }
  return reasons;
}
