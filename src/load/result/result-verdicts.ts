import type { ProcessLoad } from "../../metrics/process-load.js";
import type { ProtocolResult } from "../../metrics/types.js";
import { redactText } from "../../util/redact.js";
import { mergeReasonCounts } from "../fleet/reason-tally.js";
import { splitMissing } from "../shards/shards.js";
import type { DeliveryCounts } from "./aggregate.js";
import type { RunRecord } from "./run-record.js";
import { judgeSaturation } from "./saturation.js";
import { latencyThirds } from "./timeline-result.js";

/**
 * The verdicts of one protocol's run, from what was collected: who saturated
 * (with the evidence), and whether anything was measured at all. Pure.
 */

/**
 * Who saturated, and the per-process loads behind it. The per-second series
 * (latency, deliveries) are the result's timeline.
 */
export function saturationRecord(
  run: RunRecord,
  counts: DeliveryCounts,
  window: { startMs: number; endMs: number; seconds: number },
  eventLoopDelayP99Ms: number,
): NonNullable<ProtocolResult["saturation"]> {
  const { scenario, collected, publisher } = run;
  const windowSeconds = window.seconds;
  const processes: ProcessLoad[] = [
    ...collected.loads.filter((p) => p.role === "publisher"),
    ...collected.reports.flatMap((r) => (r.load ? [r.load] : [])),
    ...collected.loads.filter((p) => p.role !== "publisher"),
  ];
  const verdicts = judgeSaturation({
    generator: scenario.generator,
    saturation: scenario.saturation,
    processes,
    eventLoopDelayP99Ms,
    publisherLagMs: publisher.maxLagMs,
    missingShards: splitMissing(collected.missing).shards,
    latencyThirds: latencyThirds({ timeline: run.timeline, window, reports: collected.reports }),
    hadFaults: run.faults.length > 0,
    acks: counts.acks,
    ackTimeoutMs: scenario.publish.ackTimeoutMs,
    slotWaitMs: publisher.maxSlotWaitMs,
    maxInFlight: scenario.publish.maxInFlight,
  });
  return {
    ...verdicts,
    ...(run.plan ? { plan: run.plan } : {}),
    processes,
    expectedPerSecond: windowSeconds > 0 ? counts.expected / windowSeconds : null,
  };
}

/**
 * Why a protocol's numbers measure nothing, or not the run asked for: no
 * client connected, more than `clients.maxNeverConnectedShare` of them never
 * did (a full server refused them), nothing was expected, frames arrived but
 * none was a message (a template that does not fit the server: counting its
 * messages lost would blame the server), or a shard died. Empty when the run
 * measured what it should. Each reason says why in the words of the errors
 * seen.
 */
export function invalidReasons(
  run: RunRecord,
  counts: { connected: number; neverConnected: number; expected: number; delivered: number },
): string[] {
  const { collected, scenario } = run;
  const { connected, neverConnected, expected } = counts;
  const clients = scenario.clients.count;
  const reasons: string[] = [];
  const errors = collected.reports.flatMap((r) => r.connectErrors);
  const why = errors.length > 0 ? `: ${errorSummary(errors, "connect attempts")}` : "";
  const maxShare = scenario.clients.maxNeverConnectedShare;
  const unrecognised = collected.reports.reduce((n, r) => n + r.counters.unrecognisedFrames, 0);
  if (connected > 0 && counts.delivered === 0 && unrecognised > 0) {
    const first = collected.reports.find((r) => r.firstUnrecognised)?.firstUnrecognised;
    const shown = first ? `; the first: ${first.frame} (${first.what})` : "";
    reasons.push(
      `frames arrived but none was recognised as a message (${unrecognised} unrecognised)${shown}`,
    );
  }
  if (connected === 0) {
    reasons.push(`no client connected (0/${clients})${why}`);
  } else if (clients > 0 && neverConnected / clients > maxShare) {
    reasons.push(
      `${neverConnected} of ${clients} clients never connected (${percent(neverConnected / clients)}, more than clients.maxNeverConnectedShare ${percent(maxShare)})${why}`,
    );
  }
  if (connected > 0 && expected === 0) {
    const refusals = run.publisher.refusals;
    const why =
      refusals.size > 0
        ? `: publishes refused: ${errorSummary(
            [...refusals].map(([reason, e]) => ({ reason, ...e })),
            "publishes",
          )}`
        : "";
    reasons.push(`no delivery was expected (nothing published was stored)${why}`);
  }
  for (const shard of splitMissing(collected.missing).shards) {
    reasons.push(`${shard.name} ${shard.reason}`);
  }
  return reasons.map(redactText);
}

/** A share as a percentage for a sentence: "41.2 %", "1 %". */
function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))} %`;
}

/**
 * The most frequent reasons, each with what its count counts:
 * "connection refused (20 connect attempts); HTTP 500 (words) (3 connect attempts)".
 */
function errorSummary(
  errors: { reason: string; count: number; example?: string }[],
  counted: string,
): string {
  return mergeReasonCounts([errors.map((e) => ({ ...e, example: e.example ?? e.reason }))])
    .slice(0, 3)
    .map(({ reason, count, example }) => {
      const words = example !== reason ? ` (${example})` : "";
      return `${reason}${words} (${count} ${counted})`;
    })
    .join("; ");
}
