import type { ProtocolResult } from "../metrics/types.js";
import type { SubscriberReport } from "../run-model/shard-report.js";
import type { JsonSchema, Measure, MeasureRow } from "./measure.js";
import type { ServerFacts } from "./run-facts.js";
import { restartedServer } from "./server-cost.js";

/**
 * Slow consumers (`clients.slow`): some clients read at a trickle among fast
 * ones, and the question the rows answer is the one users ask of a server:
 * do the fast ones get stuck behind the slow ones, what does a slow one
 * cost the server, and does the server cut it loose (and when)? Each
 * subscriber's report says whether it is slow, a fast one's worst delivery
 * and when a slow one was cut (load/fleet/slow-consumers.ts keeps them, off
 * the per-message path); the servers rtbench started say when they cut a
 * stream for its write timeout.
 */
export interface SlowConsumerResult {
  slowClients: number;
  fastClients: number;
  /** Fast clients whose worst delivery in the window took over 100 ms. */
  fastStuck: number;
  /** The worst delivery latency of any fast client in the window (ms). */
  fastWorstMs: number;
  /** Expected and delivered over the slow clients only. */
  slowExpected: number;
  slowDelivered: number;
  /**
   * Cuts by the server: the streams it cut for its write timeout where it
   * says (the reference server's /admin/write-timeouts; its log does not name
   * the client, so a fast client cut for the same reason counts too), else
   * the breaks the slow clients saw (a close or reset, not their own watchdog).
   */
  cut: number;
  /** When the first one was cut, ms from the window's start; null: none was. */
  firstCutMs: number | null;
  /**
   * The servers' resident memory growth over the window divided by the slow
   * clients (bytes): an upper bound, all growth charged to them; null: not sampled.
   */
  serverRssPerSlowClient: number | null;
}

export interface SlowConsumersFragment {
  /** Absent or null without slow consumers. */
  slowConsumers?: SlowConsumerResult | null;
}

declare module "../metrics/types.js" {
  interface MeasureResults extends SlowConsumersFragment {}
}

/** A fast client whose worst delivery took longer than this was stuck (the rival's question). */
export const STUCK_MS = 100;

/**
 * The rows, from every subscriber's report and the delivery counts of the
 * slow ones. `measureStartMs`: cut times are given from the window's start.
 * `serverRssGrowthBytes`: the servers' resident memory at the window's end
 * minus at its start (null when not sampled).
 */
export function slowConsumerResult(
  subscribers: readonly SubscriberReport[],
  slowCounts: { expected: number; delivered: number },
  measureStartMs: number,
  serverRssGrowthBytes: number | null,
  /** When the servers cut a stream for its write timeout (monotonic ms); undefined: not known. */
  writeTimeoutsMs: readonly number[] | undefined,
): SlowConsumerResult | null {
  let slowClients = 0;
  let fastClients = 0;
  let fastStuck = 0;
  let fastWorstMs = 0;
  let cut = 0;
  let firstCutMs: number | null = null;
  for (const s of subscribers) {
    if (s.slow === undefined) continue;
    if (s.slow) {
      slowClients++;
      if (s.cutAtMs !== null && s.cutAtMs !== undefined) {
        cut++;
        const atMs = s.cutAtMs - measureStartMs;
        if (firstCutMs === null || atMs < firstCutMs) firstCutMs = atMs;
      }
      continue;
    }
    fastClients++;
    const worst = s.worstLatencyMs ?? 0;
    if (worst > STUCK_MS) fastStuck++;
    if (worst > fastWorstMs) fastWorstMs = worst;
  }
  if (slowClients === 0) return null;
  // The server's own word where it gives it: a slow client rarely sees the cut,
  // since the kernel still sends what it holds, at the client's pace, before the close.
  if (writeTimeoutsMs !== undefined) {
    cut = Math.max(cut, writeTimeoutsMs.length);
    for (const atMs of writeTimeoutsMs) {
      const fromStart = atMs - measureStartMs;
      if (firstCutMs === null || fromStart < firstCutMs) firstCutMs = fromStart;
    }
  }
  return {
    slowClients,
    fastClients,
    fastStuck,
    fastWorstMs,
    slowExpected: slowCounts.expected,
    slowDelivered: slowCounts.delivered,
    cut,
    firstCutMs,
    // An upper bound on what the slow clients hold only while the servers' RSS grew: a
    // shrinking RSS (the collector gave back more than they took) bounds nothing.
    serverRssPerSlowClient:
      serverRssGrowthBytes === null || serverRssGrowthBytes <= 0
        ? null
        : Math.round(serverRssGrowthBytes / slowClients),
  };
}

/** The servers' RSS growth over the window (bytes); null when not sampled or a process restarted. */
function rssGrowth(servers: ServerFacts, faults: ProtocolResult["faults"]): number | null {
  const { windowStart, windowEnd } = servers.samples;
  if (restartedServer(faults) || !windowStart || !windowEnd) return null;
  return windowEnd.rssBytes - windowStart.rssBytes;
}

const slowRun = (p: ProtocolResult) => p.slowConsumers !== undefined && p.slowConsumers !== null;
const of = (p: ProtocolResult) => p.slowConsumers ?? null;

/** "a/b" of two of its figures; n/a without slow consumers. */
function pairRow(
  label: string,
  first: "fastStuck" | "slowDelivered" | "cut",
  second: "fastClients" | "slowExpected" | "slowClients",
): MeasureRow {
  return {
    label,
    values: (p) => {
      const s = of(p);
      return s ? [s[first], s[second]] : null;
    },
    when: slowRun,
  };
}

const COUNT = { type: "integer", minimum: 0 };

const SCHEMA: JsonSchema = {
  description:
    "clients.slow: what the slow clients cost the fast ones and the server; absent or null without slow consumers",
  anyOf: [
    { type: "null" },
    {
      type: "object",
      properties: {
        slowClients: COUNT,
        fastClients: COUNT,
        fastStuck: {
          ...COUNT,
          description: "fast clients whose worst delivery in the window took over 100 ms",
        },
        fastWorstMs: { type: "number", minimum: 0 },
        slowExpected: COUNT,
        slowDelivered: COUNT,
        cut: {
          ...COUNT,
          description: "slow clients the server cut (its write timeouts where it says)",
        },
        firstCutMs: {
          type: ["number", "null"],
          description: "when the first was cut, ms from the window's start",
        },
        serverRssPerSlowClient: {
          type: ["number", "null"],
          description:
            "servers' RSS growth over the window per slow client (an upper bound); null when it did not grow or was not sampled",
        },
      },
    },
  ],
};

export const slowConsumers: Measure<SlowConsumersFragment> = {
  name: "slow-consumers",
  description:
    "clients.slow: whether fast clients get stuck behind slow ones, what a slow one costs the server, and whether it is cut",
  result: (run) =>
    run.scenario.clients.slow === null
      ? {}
      : {
          slowConsumers: slowConsumerResult(
            run.subscribers,
            run.deliveriesAmong((s) => s.slow === true),
            run.timeline.measureStartMs,
            rssGrowth(run.servers, run.faults),
            run.servers.writeTimeoutsMs,
          ),
        },
  // Its figures are read in the table; no metric names (none before it was a measure).
  metrics: [],
  schema: { slowConsumers: SCHEMA },
  rows: {
    after: "gap markers",
    rows: [
      pairRow("fast stuck >100ms", "fastStuck", "fastClients"),
      { label: "fast worst ms", value: (p) => of(p)?.fastWorstMs ?? null, when: slowRun },
      pairRow("slow delivered", "slowDelivered", "slowExpected"),
      pairRow("cut by server / slow", "cut", "slowClients"),
      {
        label: "  first cut s",
        value: (p) => {
          const atMs = of(p)?.firstCutMs;
          return atMs === null || atMs === undefined ? null : atMs / 1000;
        },
        when: slowRun,
      },
      {
        label: "server RSS growth / slow KB",
        value: (p) => {
          const bytes = of(p)?.serverRssPerSlowClient;
          return bytes === null || bytes === undefined ? null : bytes / 1024;
        },
        when: slowRun,
      },
    ],
  },
};
