import { describe, expect, it } from "vitest";
import { FleetTimeline } from "../src/load/fleet/fleet-timeline.js";
import { ReceiptLedger } from "../src/load/fleet/receipt-ledger.js";
import { countDeliveries } from "../src/load/result/aggregate.js";
import { buildTimeline } from "../src/load/result/timeline-result.js";
import { cpuMsPerSecond } from "../src/load/servers/server-seconds.js";
import { uncountedPublishes } from "../src/load/stages/collect.js";
import { zeroCounters } from "../src/metrics/counters.js";
import { encodeHistogram, summarizeEncoded } from "../src/metrics/histogram.js";
import { SeqTracker } from "../src/metrics/seq-tracker.js";
import type { PublishRecord } from "../src/run-model/publish-record.js";
import type { ShardReport } from "../src/run-model/shard-report.js";
import { measuredWindow, planTimeline } from "../src/run-model/timeline.js";

/**
 * The per-second timeline's arithmetic, without processes: the fleet-side
 * record, the receipt ledger, the parent's merge and correction. The real
 * run (timeline-run.test.ts) checks the same sums end to end.
 */
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe("ReceiptLedger", () => {
  it("says in which seconds each message was counted, however the receipts spread", () => {
    const ledger = new ReceiptLedger();
    const slot = ledger.slotOf("c0");
    expect(ledger.slotOf("c1")).toBe(slot + 1);
    expect(ledger.slotOf("c0")).toBe(slot);
    for (let i = 0; i < 3; i++) ledger.add(slot, 7, 4);
    ledger.add(slot, 7, 5);
    // A resume after an outage delivers the message much later, and a reorder earlier.
    ledger.add(slot, 7, 9);
    ledger.add(slot, 7, 9);
    ledger.add(slot, 7, 2);
    // Far beyond the first allocation: the arrays grow.
    ledger.add(slot, 5000, 1);
    expect(ledger.receipts("c0", 7)).toEqual([
      [4, 3],
      [5, 1],
      [9, 2],
      [2, 1],
    ]);
    expect(ledger.receipts("c0", 5000)).toEqual([[1, 1]]);
    expect(ledger.receipts("c0", 8)).toEqual([]);
    expect(ledger.receipts("c1", 7)).toEqual([]);
    expect(ledger.receipts("nowhere", 7)).toEqual([]);
  });
});

describe("FleetTimeline", () => {
  const traffic = (requests: number) => ({
    bytesIn: requests * 100,
    bytesOut: requests * 10,
    requests,
  });

  it("buckets seconds from ramp start and clamps what falls outside", () => {
    const t = new FleetTimeline(10_000, 13_500);
    expect(t.buckets).toBe(4);
    expect([9000, 10_000, 10_999.9, 11_000, 13_499, 20_000].map((ms) => t.bucketAt(ms))).toEqual([
      0, 0, 0, 1, 3, 3,
    ]);
  });

  it("keeps clients connected at each second's end and the lowest within it", () => {
    const t = new FleetTimeline(0, 5000);
    t.connectedChanged(100, 1);
    t.connectedChanged(200, 2);
    // A dip inside second 2 that is over before it ends.
    t.connectedChanged(2100, 1);
    t.connectedChanged(2200, 0);
    t.connectedChanged(2900, 2);
    const report = t.report([], []);
    expect(report.connected).toEqual([2, 2, 2, 2, 2]);
    expect(report.connectedMin).toEqual([0, 2, 0, 2, 2]);
  });

  it("counts traffic only inside the window, to the second of each segment's middle", () => {
    const t = new FleetTimeline(0, 4000);
    t.cut(0, traffic(0));
    t.cut(999.5, traffic(5)); // a boundary timer a hair early: ramp-up, outside the window
    t.cut(1500, traffic(8));
    t.setInWindow(true); // window starts at 1.5 s
    t.cut(1999.6, traffic(10));
    t.cut(2999.7, traffic(30));
    t.cut(3200, traffic(31));
    t.setInWindow(false); // window ends at 3.2 s
    t.cut(3999, traffic(40));
    const report = t.report([], []);
    expect(report.requests).toEqual([0, 2, 20, 1]);
    expect(sum(report.requests)).toBe(31 - 8);
    expect(sum(report.bytesIn)).toBe((31 - 8) * 100);
  });
});

describe("buildTimeline", () => {
  // Ramp start at 0, window [1000, 3000), drain to 4000.
  const timeline = planTimeline({
    nowMs: 0,
    startDelayMs: 0,
    rampUpMs: 0,
    warmupMs: 1000,
    durationMs: 3000,
    drainMs: 1000,
    faultsAtMs: [],
  });
  const window = { startMs: 1000, endMs: 3000 };
  // c0: messages 1..30 every 100 ms; 15 was never answered (but delivered: stored), 16 acked late.
  const records: PublishRecord[][] = [
    Array.from({ length: 30 }, (_, i) => ({
      seq: i + 1,
      dueMs: i * 100,
      sentMs: i * 100 + 1,
      ackMs: i + 1 === 15 ? null : 5,
      outcome: i + 1 === 15 ? "unanswered" : i + 1 === 16 ? "late" : "acked",
    })),
  ];

  /**
   * One shard, one subscriber that got every window message the second it
   * was sent; `uncounted` are the publishes the parent names at finish.
   */
  function shard(uncounted: [string, number[]][] = []): ShardReport {
    const t = new FleetTimeline(0, 4000);
    const slot = t.ledger.slotOf("c0");
    for (let seq = 11; seq <= 30; seq++) t.countDelivery(t.bucketAt(seq * 100), slot, seq);
    const timelineReport = t.report(uncounted, [1, 2, null, 4]);
    return {
      type: "report",
      subscribers: [{ channel: "c0", firstReadyMs: 0, received: [[11, 30]] }],
      latency: encodeHistogram(t.totalLatency()),
      latencyFromSend: encodeHistogram(t.totalLatency()),
      connect: encodeHistogram(t.totalLatency()),
      measures: {},
      reconnect: encodeHistogram(t.totalLatency()),
      outage: encodeHistogram(t.totalLatency()),
      counters: zeroCounters(),
      attemptsPerSecond: {},
      breakLog: [],
      window: { bytesIn: 0, bytesOut: 0, requests: 0, emptyPolls: 0, socketsOpen: 1 },
      eventLoopDelayP99Ms: 4,
      load: null,
      connectErrors: [],
      breakReasons: [],
      instances: { deliveries: [0], connections: [0] },
      timeline: timelineReport,
    };
  }

  function build(reports: ShardReport[], w: { startMs: number; endMs: number }) {
    const counts = countDeliveries(["c0"], records, reports, w);
    const built = buildTimeline({
      timeline,
      window: w,
      channels: ["c0"],
      records,
      stored: counts.stored,
      reports,
      parentLoopDelayP99Ms: [3, 1, 5, null],
      servers: [],
    });
    return { counts, built };
  }

  it("counts every receipt, acknowledged or not: the series sum to the totals", () => {
    const { counts, built } = build([shard()], window);
    // 15 was never answered, but a subscriber has it: stored, expected and delivered.
    expect(counts.delivered).toBe(20);
    expect(built.deliveries).toEqual([0, 9, 10, 1]);
    expect(sum(built.deliveries)).toBe(counts.delivered);
    expect(built.published).toEqual([0, 10, 10, 0]);
    expect(sum(built.published)).toBe(counts.published);
    expect(sum(built.publishFailed)).toBe(counts.publishFailed);
    expect(built.publishesSent).toEqual([10, 10, 10, 0]);
    expect(built.loopDelayP99Ms).toEqual([3, 2, 5, 4]);
    expect(built.phases).toEqual({
      publishStartMs: 0,
      measureStartMs: 1000,
      measureEndMs: 3000,
      drainEndMs: 4000,
    });
    expect(SeqTracker.fromJSON([[11, 30]]).size).toBe(20);
  });

  it("takes out receipts of messages after a window an interrupt cut short", () => {
    // Stopped in the drain: with 1 s to arrive, messages from 2.5 s on are in flight, not judged.
    const stoppedAtMs = 3500;
    const uncounted = uncountedPublishes({ channels: ["c0"], timeline }, records, stoppedAtMs);
    expect(uncounted).toEqual([["c0", [26, 27, 28, 29, 30]]]);
    const { counts, built } = build([shard(uncounted)], measuredWindow(timeline, stoppedAtMs));
    expect(counts.delivered).toBe(15);
    expect(built.deliveries).toEqual([0, 9, 6, 0]);
    expect(sum(built.deliveries)).toBe(counts.delivered);
  });

  it("merges the shards' latency histograms second by second", () => {
    const a = new FleetTimeline(0, 3000);
    const b = new FleetTimeline(0, 3000);
    // Microseconds below 2048 are kept exactly at 3 significant digits.
    a.latencyIn(1).hdr.recordValue(1000);
    b.latencyIn(1).hdr.recordValue(1500);
    b.latencyIn(2).hdr.recordValue(2000);
    const reports = [a, b].map((t) => ({ ...shard(), timeline: t.report([], []) }));
    const built = buildTimeline({
      timeline: planTimeline({
        nowMs: 0,
        startDelayMs: 0,
        rampUpMs: 0,
        warmupMs: 0,
        durationMs: 2000,
        drainMs: 1000,
        faultsAtMs: [],
      }),
      window,
      channels: [],
      records: [],
      stored: new Set(),
      reports,
      parentLoopDelayP99Ms: [],
      servers: [],
    });
    expect(built.latencyCount).toEqual([0, 2, 1]);
    expect(built.latencyP50).toEqual([null, 1, 2]);
    expect(built.latencyMax).toEqual([null, 1.5, 2]);
    const total = summarizeEncoded([
      encodeHistogram(a.totalLatency()),
      encodeHistogram(b.totalLatency()),
    ]);
    expect(total.count).toBe(sum(built.latencyCount));
  });
});

describe("cpuMsPerSecond", () => {
  const at = (pid: number | null, cpuSeconds: number) => ({ pid, cpuSeconds, rssBytes: 1 });

  it("is the growth between boundaries, and a restarted process's whole counter", () => {
    expect(
      cpuMsPerSecond([
        at(1, 1),
        at(1, 1.25),
        null, // killed
        null,
        at(2, 0.4), // restarted in the second before
        at(2, 0.5),
        at(3, 0.1), // restarted between two samples
      ]),
    ).toEqual([250, null, null, 400, 100, 100]);
  });

  it("does not guess across a missing sample of the same process", () => {
    expect(cpuMsPerSecond([null, at(1, 2), null, at(1, 3)])).toEqual([null, null, null]);
    expect(cpuMsPerSecond([at(null, 1), null, at(null, 2)])).toEqual([null, null]);
  });
});
