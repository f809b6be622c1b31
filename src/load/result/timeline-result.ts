import { mergeHistograms } from "../../metrics/histogram.js";
import type { ProtocolTimeline } from "../../metrics/protocol-timeline.js";
import type { PublishRecord } from "../../run-model/publish-record.js";
import type { BoundarySamples } from "../../run-model/server-sample.js";
import type { ShardReport, ShardTimeline } from "../../run-model/shard-report.js";
import type { Timeline, Window } from "../../run-model/timeline.js";
import { BUCKET_MS, bucketCount } from "../../run-model/timeline.js";
import { cpuMsPerSecond } from "../servers/server-seconds.js";

/** Everything the per-second timeline of one protocol's run is built from. */
export interface TimelineInput {
  timeline: Timeline;
  /** The measured window (shorter when the run was stopped early). */
  window: Window;
  channels: string[];
  records: PublishRecord[][];
  /** The window's records the result counts as `published` (aggregate.ts decides). */
  stored: ReadonlySet<PublishRecord>;
  reports: ShardReport[];
  /** The parent's own event-loop delay p99 per second. */
  parentLoopDelayP99Ms: (number | null)[];
  /** Server samples at each second boundary, per instance (server-seconds.ts). */
  servers: BoundarySamples;
}

/** Merges the shards' series and adds the parent's. Pure. */
export function buildTimeline(input: TimelineInput): ProtocolTimeline {
  const { timeline, reports } = input;
  const buckets = bucketCount(timeline.rampStartMs, timeline.drainEndMs);
  const shards = reports.map((r) => r.timeline);
  const sum = (key: SummedSeries) => sumSeries(shards, key, buckets);
  const latency = latencySeries(shards, buckets);
  const since = (ms: number) => ms - timeline.rampStartMs;
  return {
    bucketMs: BUCKET_MS,
    buckets,
    phases: {
      publishStartMs: since(timeline.publishStartMs),
      measureStartMs: since(timeline.measureStartMs),
      measureEndMs: since(timeline.measureEndMs),
      drainEndMs: since(timeline.drainEndMs),
    },
    deliveries: countedDeliveries(sum("deliveries"), input),
    received: sum("received"),
    ...latency,
    connected: sum("connected"),
    connectedMin: sum("connectedMin"),
    attempts: sum("attempts"),
    breaks: sum("breaks"),
    reconnects: sum("reconnects"),
    requests: sum("requests"),
    bytesIn: sum("bytesIn"),
    bytesOut: sum("bytesOut"),
    ...publishSeries(input, buckets),
    loopDelayP99Ms: worstLoopDelay(
      [input.parentLoopDelayP99Ms, ...shards.map((s) => s.loopDelayP99Ms)],
      buckets,
    ),
    servers: input.servers.map((samples, instance) => ({
      instance,
      cpuMs: cpuMsPerSecond(samples).slice(0, buckets),
      rssBytes: samples.slice(1, buckets + 1).map((s) => s?.rssBytes ?? null),
    })),
  };
}

type SummedSeries =
  | "deliveries"
  | "received"
  | "breaks"
  | "reconnects"
  | "attempts"
  | "connected"
  | "connectedMin"
  | "requests"
  | "bytesIn"
  | "bytesOut";

function sumSeries(shards: ShardTimeline[], key: SummedSeries, buckets: number): number[] {
  const total = new Array<number>(buckets).fill(0);
  for (const shard of shards) {
    shard[key].forEach((value, i) => {
      // A shard's series is as long as the parent's plan; clamp anything else into the last bucket.
      const b = Math.min(i, buckets - 1);
      total[b] = (total[b] as number) + value;
    });
  }
  return total;
}

/**
 * The shards counted every first receipt of a window message, as `delivered`
 * does; when an interrupt cut the window short, receipts of messages
 * scheduled after its new end come out here, in the seconds the shards
 * counted them (collect.ts names them), so the series sums to `delivered`.
 */
function countedDeliveries(counted: number[], input: TimelineInput): number[] {
  const deliveries = [...counted];
  for (const report of input.reports) {
    for (const [, , bucket, count] of report.timeline.uncountedReceipts) {
      const b = Math.min(bucket, deliveries.length - 1);
      deliveries[b] = (deliveries[b] as number) - count;
    }
  }
  return deliveries;
}

function latencySeries(shards: ShardTimeline[], buckets: number) {
  const series = {
    latencyCount: [] as number[],
    latencyP50: [] as (number | null)[],
    latencyP90: [] as (number | null)[],
    latencyP99: [] as (number | null)[],
    latencyMax: [] as (number | null)[],
  };
  for (let b = 0; b < buckets; b++) {
    const encoded = shards.map((s) => s.latency[b] ?? "").filter((e) => e !== "");
    const { hdr } = mergeHistograms(encoded);
    const count = hdr.totalCount;
    const at = (p: number) => (count === 0 ? null : Math.round(hdr.getValueAtPercentile(p)) / 1000);
    series.latencyCount.push(count);
    series.latencyP50.push(at(50));
    series.latencyP90.push(at(90));
    series.latencyP99.push(at(99));
    series.latencyMax.push(at(100));
  }
  return series;
}

/** Publishes by the second they were sent; the window's split as in `countDeliveries`. */
function publishSeries(input: TimelineInput, buckets: number) {
  const zeros = () => new Array<number>(buckets).fill(0);
  const series = { publishesSent: zeros(), published: zeros(), publishFailed: zeros() };
  const { window, timeline } = input;
  for (const channelRecords of input.records) {
    for (const r of channelRecords) {
      const b = Math.max(
        0,
        Math.min(buckets - 1, Math.floor((r.sentMs - timeline.rampStartMs) / BUCKET_MS)),
      );
      (series.publishesSent[b] as number)++;
      if (r.dueMs < window.startMs || r.dueMs >= window.endMs) continue;
      if (input.stored.has(r)) (series.published[b] as number)++;
      else (series.publishFailed[b] as number)++;
    }
  }
  return series;
}

/** Per second, the worst of every generator process; rounded to 0.01 ms. */
function worstLoopDelay(series: (number | null)[][], buckets: number): (number | null)[] {
  const worst: (number | null)[] = new Array(buckets).fill(null);
  for (const one of series) {
    one.slice(0, buckets).forEach((value, i) => {
      if (value === null) return;
      const current = worst[i] ?? null;
      worst[i] = current === null ? value : Math.max(current, value);
    });
  }
  return worst.map((v) => (v === null ? null : Math.round(v * 100) / 100));
}

/**
 * Mean delivery latency in the first and the last third of the measured
 * window's seconds (by second of receipt), from the shards' per-second
 * histograms merged exactly; null when the window is under 3 s or a third
 * saw no delivery. A latency that keeps rising through the window is the
 * sign of a backlog growing somewhere.
 */
export function latencyThirds(
  input: Pick<TimelineInput, "timeline" | "window" | "reports">,
): { firstMs: number; lastMs: number } | null {
  const { timeline, window } = input;
  const first = Math.round((window.startMs - timeline.rampStartMs) / BUCKET_MS);
  const seconds = Math.floor((window.endMs - window.startMs) / BUCKET_MS);
  if (seconds < 3) return null;
  const third = Math.floor(seconds / 3);
  const shards = input.reports.map((r) => r.timeline);
  const mean = (from: number, to: number): number | null => {
    const encoded = shards.flatMap((s) => s.latency.slice(from, to)).filter((e) => e !== "");
    const { hdr } = mergeHistograms(encoded);
    return hdr.totalCount === 0 ? null : hdr.mean / 1000;
  };
  const firstMs = mean(first, first + third);
  const lastMs = mean(first + seconds - third, first + seconds);
  return firstMs === null || lastMs === null ? null : { firstMs, lastMs };
}
