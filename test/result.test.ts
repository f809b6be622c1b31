import { describe, expect, it } from "vitest";
import type { FaultRecord } from "../src/load/faults/faults.js";
import { buildProtocolResult } from "../src/load/result/result.js";
import type { RunRecord } from "../src/load/result/run-record.js";
import { zeroCounters } from "../src/metrics/counters.js";
import { createLatencyHistogram, encodeHistogram, recordMs } from "../src/metrics/histogram.js";
import type { PublishRecord } from "../src/run-model/publish-record.js";
import type { ShardReport } from "../src/run-model/shard-report.js";
import { planTimeline } from "../src/run-model/timeline.js";
import { parseScenario } from "../src/scenario/load.js";
import type { ProtocolName } from "../src/shared/transports.js";

/**
 * The result stage is pure: these build what the earlier stages would have
 * collected and check the numbers computed from it.
 */
/** 3 s at 10/s, the first second warm-up, with `clients` and any `more` lines. */
function scenarioOf(clients: string, more = "") {
  return parseScenario(
    `clients: ${clients}\npublish: { rate: 10/s }\nduration: 3s\nwarmup: 1s\ndrain: 0\n${more}`,
    "result.yaml",
  );
}
const scenario = scenarioOf("{ count: 4, channels: 1, rampUp: 0 }");
/** The scenario's phases, its ramp-up `rampUpMs` long and starting at `rampStartMs`. */
function timelineOf(rampStartMs: number, rampUpMs: number, drainMs = 0) {
  return planTimeline({
    nowMs: rampStartMs,
    startDelayMs: 0,
    rampUpMs,
    warmupMs: 1000,
    durationMs: 3000,
    drainMs,
    faultsAtMs: [],
  });
}
const timeline = timelineOf(0, 0);

function histogramOf(...valuesMs: number[]): string {
  const h = createLatencyHistogram();
  for (const v of valuesMs) recordMs(h, v);
  return encodeHistogram(h);
}

/** A shard with two subscribers on c0 that received messages 1..`upTo`. */
function shard(upTo: number, counters: Partial<ShardReport["counters"]> = {}): ShardReport {
  return {
    type: "report",
    subscribers: [0, 1].map(() => ({ channel: "c0", firstReadyMs: 0, received: [[1, upTo]] })),
    latency: histogramOf(5, 6),
    latencyFromSend: histogramOf(4),
    connect: histogramOf(2),
    measures: {},
    reconnect: histogramOf(100, 300),
    outage: histogramOf(400),
    counters: { ...zeroCounters(), ...counters },
    attemptsPerSecond: { "7": 3 },
    breakLog: [],
    window: { bytesIn: 9000, bytesOut: 1000, requests: 40, emptyPolls: 10, socketsOpen: 20 },
    eventLoopDelayP99Ms: 3,
    load: null,
    connectErrors: [],
    breakReasons: [],
    timeline: {
      deliveries: [0, 0, 0],
      received: [0, 0, 0],
      latency: ["", "", ""],
      breaks: [0, 0, 0],
      reconnects: [0, 0, 0],
      attempts: [2, 0, 0],
      connected: [2, 2, 2],
      connectedMin: [0, 2, 2],
      requests: [0, 0, 0],
      bytesIn: [0, 0, 0],
      bytesOut: [0, 0, 0],
      loopDelayP99Ms: [null, null, null],
      uncountedReceipts: [],
    },
    instances: { deliveries: [upTo], connections: [2] },
  };
}

/** Messages 1..30 on c0, due every 100 ms from 0; the window is [1000, 3000). */
const records: PublishRecord[][] = [
  Array.from({ length: 30 }, (_, i) => ({
    seq: i + 1,
    dueMs: i * 100,
    sentMs: i * 100,
    ackMs: 1,
    outcome: "acked" as const,
  })),
];

const publisher = {
  records,
  maxLagMs: 1,
  maxSlotWaitMs: 0,
  peakInFlight: 1,
  notSent: 0,
  refusals: new Map<string, { count: number; example: string }>(),
};

function run(overrides: Partial<RunRecord> = {}, protocol: ProtocolName = "websocket") {
  return buildProtocolResult({
    scenario,
    protocol,
    timeline,
    stoppedAtMs: null,
    serverSettings: null,
    channels: ["c0"],
    publisher,
    faults: [],
    collected: {
      reports: [
        shard(30, { duplicates: 2, unstamped: 5 }),
        shard(25, { duplicates: 1, gaveUp: 1 }),
      ],
      missing: [],
      loads: [],
      parentLoopDelayP99Ms: 2,
      zombieTimeoutsMs: [],
    },
    samples: {
      baseline: { cpuSeconds: 1, rssBytes: 100e6 },
      windowStart: { cpuSeconds: 2, rssBytes: 110e6 },
      windowEnd: { cpuSeconds: 2.5, rssBytes: 120e6 },
    },
    seconds: { parentLoopDelayP99Ms: [], servers: [] },
    instanceCount: 1,
    ...overrides,
  });
}

describe("buildProtocolResult", () => {
  it("counts deliveries in the measured window and sums the shards' counters", () => {
    const result = run();
    // Messages 11..30 fall in [1000, 3000): 20 per subscriber, 4 subscribers.
    expect(result).toMatchObject({ clients: 4, connected: 4, published: 20, expected: 80 });
    // The second shard's subscribers missed 26..30.
    expect(result.delivered).toBe(70);
    expect(result.lost).toBe(10);
    expect(result.deliveriesPerSec).toBe(35);
    expect(result.duplicates).toBe(3);
    // Shard-only counters stay out of the result file.
    expect(result).not.toHaveProperty("unstamped");
    expect(result).not.toHaveProperty("gaveUp");
    expect(result.reconnects).toBe(4);
    expect(result.peakConnectAttemptsPerSec).toBe(6);
    expect(result.bytesPerDelivery).toBeCloseTo(20_000 / 70);
    expect(result.generator).toMatchObject({ eventLoopDelayP99: 3, reliable: true, processes: 3 });
  });

  it("counts only up to where an interrupted run stopped", () => {
    const result = run({ stoppedAtMs: 2000 });
    expect(result.expected).toBe(40);
    expect(result.deliveriesPerSec).toBe(40);
  });

  it("gives an empty-poll share to polling transports only", () => {
    expect(run().emptyPollShare).toBeNull();
    expect(run({}, "long-poll").emptyPollShare).toBe(0.25);
  });

  it("reports server CPU per delivery, but not across a restart", () => {
    expect(run().server.cpuSecondsPer1kDeliveries).toBeCloseTo(0.5 / 0.07);
    const restart: FaultRecord = { action: "restart", instance: 0, firedAtMs: 1500 };
    expect(run({ faults: [restart] }).server).toEqual({
      cpuSecondsPer1kDeliveries: null,
      rssBytesPerConnection: null,
      settings: null,
    });
    // Four connections are too few to tell memory per connection from allocator noise.
    expect(run().server.rssBytesPerConnection).toBeNull();
  });

  it("reports broker operations, but not across a restart of what counts them", () => {
    // Redis INFO commandstats read at the window's edges (20 messages published in it).
    const counted = (end: Record<string, number>, memory = false) => ({
      measures: { "broker-cost": { start: { publish: 100, evalsha: 50 }, end, memory } },
    });
    const rose = counted({ publish: 140, evalsha: 90 });
    expect(run(rose).broker).toEqual({
      operations: 80,
      operationsPerMessage: 4,
      byKind: { publish: 40, evalsha: 40 },
    });
    // The service restarted and counted past its start again: the counts rose, and are still a part.
    const at = (action: FaultRecord["action"]): FaultRecord => ({
      action,
      instance: null,
      firedAtMs: 1500,
    });
    for (const action of ["broker-restart", "broker-stop", "redis-restart"] as const) {
      expect(run({ ...rose, faults: [at(action)] }).broker, action).toBeNull();
    }
    // A freeze keeps the counts; a server instance's restart does not touch Redis's.
    expect(run({ ...rose, faults: [at("broker-freeze"), at("restart")] }).broker).not.toBeNull();
    // The memory broker counts inside the server instances: their restart starts it again.
    expect(
      run({ ...counted({ publish: 140, evalsha: 90 }, true), faults: [at("kill")] }).broker,
    ).toBeNull();
    // No fault, yet a counter below its start (a crash): n/a, not the kinds that still rose.
    expect(run(counted({ publish: 10, evalsha: 90 })).broker).toBeNull();
    expect(run(counted({ publish: 140 })).broker).toBeNull();
  });

  it("is unreliable when a shard did not report or the generator lagged", () => {
    const collected = {
      reports: [shard(30)],
      missing: [{ name: "shard 1", reason: "did not report within 15000 ms", crashed: false }],
      loads: [],
      parentLoopDelayP99Ms: 2,
      zombieTimeoutsMs: [],
    };
    expect(run({ collected }).generator).toMatchObject({ reliable: false, missingShards: 1 });
    // A crash on its own error is the run's invalid reason, not the generator's load.
    const crashed = {
      ...collected,
      missing: [{ name: "shard 1", reason: "died (exit code 1): TypeError: boom", crashed: true }],
    };
    expect(run({ collected: crashed }).generator).toMatchObject({
      reliable: true,
      missingShards: 1,
    });
    const lagging = { ...publisher, maxLagMs: scenario.generator.maxEventLoopDelayMs + 1 };
    expect(run({ publisher: lagging }).generator.reliable).toBe(false);
  });

  it("gives the generator-health measure its processes, their worst loop delay and the verdict", () => {
    const limit = scenario.generator.maxEventLoopDelayMs;
    const collected = {
      reports: [
        { ...shard(30), eventLoopDelayP99Ms: 7 },
        { ...shard(25), eventLoopDelayP99Ms: limit + 20 },
      ],
      // A lost worker counts its clients as lost connections, not as a missing shard.
      missing: [
        { name: "shard 2", reason: "did not report within 15000 ms", crashed: false },
        { name: "worker b", reason: "heartbeat lost", crashed: false, lostClients: 3 },
      ],
      loads: [],
      parentLoopDelayP99Ms: 4,
      zombieTimeoutsMs: [],
    };
    expect(run({ collected, publisher: { ...publisher, maxLagMs: 12 } }).generator).toEqual({
      // The worst of the parent and the two shards that reported, and the verdict's call.
      eventLoopDelayP99: limit + 20,
      reliable: false,
      processes: 3,
      publisherMaxLagMs: 12,
      eventLoopDelayLimitMs: limit,
      missingShards: 1,
    });
    // The parent's own delay counts too; below the limit everywhere: reliable.
    const calm = { ...collected, reports: [shard(30)], missing: [], parentLoopDelayP99Ms: 9 };
    expect(run({ collected: calm }).generator).toMatchObject({
      eventLoopDelayP99: 9,
      reliable: true,
      processes: 2,
      missingShards: 0,
    });
  });

  it("gives the measures the run's facts: slow clients, stalls, the workers, the proxy", () => {
    // Figures as buildProtocolResult gave them before these measures were rows of the registry.
    const slowScenario = parseScenario(
      `
clients: { count: 4, channels: 1, rampUp: 0, slow: { count: 1, down: 1KB/s } }
server: { heartbeatInterval: 500ms }
publish: { rate: 10/s }
duration: 3s
warmup: 1s
drain: 0
`,
      "slow.yaml",
    );
    /** Two subscribers; in the first shard the first is slow, cut at 1800 ms. */
    const slowShard = (upTo: number, withSlow: boolean): ShardReport => ({
      ...shard(upTo),
      subscribers: [0, 1].map((i) => ({
        channel: "c0",
        firstReadyMs: 0,
        // The slow one misses 26..30, as the second shard's clients do.
        received: [[1, withSlow && i === 0 ? 25 : upTo]],
        slow: withSlow && i === 0,
        worstLatencyMs: 50 + 100 * i,
        cutAtMs: withSlow && i === 0 ? 1800 : null,
      })),
      // Breaks on instance 0 at 1600 and 2600 ms, on instance 1 at 1700, and one before the stall.
      breakLog: [
        [1600, 0],
        [1700, 1],
        [2600, 0],
        [900, 0],
      ],
    });
    const result = run({
      scenario: slowScenario,
      faults: [
        { action: "stall", instance: 0, firedAtMs: 1500, endedAtMs: 2000 },
        { action: "stall-clients", instance: null, firedAtMs: 1500, endedAtMs: 1700 },
      ],
      collected: {
        reports: [slowShard(30, true), slowShard(25, false)],
        missing: [
          { name: "worker 2", reason: "stopped heartbeating", crashed: false, lostClients: 7 },
        ],
        loads: [],
        parentLoopDelayP99Ms: 2,
        // Ramp start is 0: dropped 100 ms after the stall-clients fault, and 600 ms
        // (within a heartbeat of its end); the one at 5000 ms is past that grace.
        zombieTimeoutsMs: [1600, 2100, 5000],
        writeTimeoutsMs: [1700, 2500],
        clocks: [
          { worker: "worker 1", offsetMs: 3, boundMs: 0.4 },
          { worker: "worker 2", offsetMs: -1, boundMs: 2.5 },
        ],
        controlTraffic: {
          count: 2,
          controlBytesInPerWorkerPerSec: 100,
          controlBytesOutPerWorkerPerSec: 50,
        },
      },
      proxy: {
        kind: "nginx",
        samples: {
          baseline: { cpuSeconds: 0.1, rssBytes: 5e6 },
          windowStart: { cpuSeconds: 0.2, rssBytes: 6e6 },
          windowEnd: { cpuSeconds: 0.3, rssBytes: 7e6 },
        },
      },
    });
    expect(result.slowConsumers).toEqual({
      slowClients: 1,
      fastClients: 3,
      fastStuck: 2,
      fastWorstMs: 150,
      // Messages 11..30 of the window: the slow client got 11..25.
      slowExpected: 20,
      slowDelivered: 15,
      // The servers' two write timeouts outnumber the one cut the slow client saw.
      cut: 2,
      firstCutMs: 1700 - timeline.measureStartMs,
      serverRssPerSlowClient: 10e6,
    });
    // From each shard: 1600 on the stalled instance during the stall (100 ms after it).
    expect(result.stallDetection).toMatchObject({ count: 2, max: expect.closeTo(100, 0) });
    expect(result.serverStallDetection).toMatchObject({ count: 2, max: expect.closeTo(600, 0) });
    expect(result.clock).toMatchObject({ boundMs: 2.5, limitMs: 2 });
    expect(result.clock?.unreliable).toContain("worker 2 ±2.50 ms");
    expect(result.lostWorkers).toEqual([
      { worker: "worker 2", reason: "stopped heartbeating", clients: 7 },
    ]);
    expect(result.workers).toEqual({
      count: 2,
      controlBytesInPerWorkerPerSec: 100,
      controlBytesOutPerWorkerPerSec: 50,
    });
    // Restarts of instances do not touch the proxy: 0.1 CPU s over 65 deliveries.
    expect(result.proxy).toMatchObject({ kind: "nginx" });
    expect(result.proxy?.cpuSecondsPer1kDeliveries).toBeCloseTo(0.1 / 0.065);
  });

  it("gives the traffic-cost measure the shards' traffic, summed, and the deliveries of that span", () => {
    const traffic = (
      bytesIn: number,
      requests: number,
      emptyPolls: number,
      socketsOpen: number,
    ) => ({
      bytesIn,
      bytesOut: 1000,
      requests,
      emptyPolls,
      socketsOpen,
    });
    const reports = [
      { ...shard(30), window: traffic(5000, 30, 3, 7) },
      { ...shard(25), window: traffic(8000, 50, 17, 5) },
    ];
    const collected = {
      reports,
      missing: [],
      loads: [],
      parentLoopDelayP99Ms: 2,
      zombieTimeoutsMs: [],
    };
    // 70 deliveries in the window (first case above); 15,000 bytes and 80 requests over both shards.
    const poll = run({ collected }, "long-poll");
    expect(poll).toMatchObject({
      bytesPerDelivery: 15_000 / 70,
      requests: 80,
      tcpConnections: 12,
      requestsPerDelivery: 80 / 70,
      emptyPollShare: 20 / 80,
    });
    // A stream does not poll.
    expect(run({ collected }, "sse").emptyPollShare).toBeNull();
    // Interrupted at 2500 with a 1 s drain: the window ends at 1500 (messages 11..15, 20
    // deliveries) and the traffic, counted up to the stop, is divided by those and by the
    // in-flight messages' (16..25, received by all four: 40).
    const interrupted = run({
      collected,
      stoppedAtMs: 2500,
      timeline: timelineOf(0, 0, 1000),
    });
    expect(interrupted.delivered).toBe(20);
    expect(interrupted.bytesPerDelivery).toBe(15_000 / 60);
    expect(interrupted.requestsPerDelivery).toBe(80 / 60);
    // Nothing delivered: no cost per delivery.
    const silent = reports.map((r) => ({ ...r, subscribers: [] }));
    expect(run({ collected: { ...collected, reports: silent } })).toMatchObject({
      bytesPerDelivery: null,
      requestsPerDelivery: null,
      requests: 80,
    });
  });

  it("gives the reconnects measure the shards' reconnects, outages, attempts and break reasons", () => {
    const reports: ShardReport[] = [
      {
        ...shard(30, { reconnectAttempts: 7 }),
        reconnect: histogramOf(100, 300, 500),
        attemptsPerSecond: { "7": 3, "8": 4 },
        breakReasons: [{ reason: "HTTP 503", count: 2, example: "HTTP 503 from /sse" }],
      },
      {
        ...shard(25, { reconnectAttempts: 5 }),
        outage: histogramOf(900),
        attemptsPerSecond: { "8": 5, "9": 1 },
        breakReasons: [
          { reason: "connection reset", count: 4, example: "ECONNRESET" },
          { reason: "HTTP 503", count: 3, example: "HTTP 503 from /lp" },
        ],
      },
    ];
    const result = run({
      collected: { reports, missing: [], loads: [], parentLoopDelayP99Ms: 2, zombieTimeoutsMs: [] },
    });
    // Reconnects merged over both shards (3 + 2), outages too (1 + 1).
    expect(result.reconnect).toMatchObject({ count: 5, max: expect.closeTo(500, -1) });
    expect(result.outage).toMatchObject({ count: 2, max: expect.closeTo(900, -1) });
    expect(result.reconnects).toBe(5);
    expect(result.attemptsPerReconnect).toBe(12 / 5);
    // Second 8: 4 + 5 attempts, summed over the shards before the busiest is taken.
    expect(result.peakConnectAttemptsPerSec).toBe(9);
    expect(result.breakReasons).toEqual([
      { reason: "HTTP 503", count: 5, example: "HTTP 503 from /sse" },
      { reason: "connection reset", count: 4, example: "ECONNRESET" },
    ]);
    // No shard reported: nothing to merge, no attempts per reconnect.
    const none = run({
      collected: {
        reports: [],
        missing: [],
        loads: [],
        parentLoopDelayP99Ms: 2,
        zombieTimeoutsMs: [],
      },
    });
    expect(none).toMatchObject({
      reconnects: 0,
      attemptsPerReconnect: null,
      peakConnectAttemptsPerSec: 0,
      breakReasons: [],
    });
  });

  it("gives the measures the run's facts: instances, catch-up, presence samples", () => {
    // Figures as buildProtocolResult gave them before these measures were rows of the registry.
    const churnScenario = scenarioOf(
      "{ count: 3, channels: 1, rampUp: 1s, churn: { every: 1s, offlineFor: 500ms, fraction: 0.3 } }",
      "presence: { sampleInterval: 500ms }\n",
    );
    // Ramp-up starts at -1000: the faults count from there, the logs and samples are monotonic ms.
    const rampedTimeline = timelineOf(-1000, 1000);
    const result = run({
      scenario: churnScenario,
      timeline: rampedTimeline,
      // Every client frozen from 1400 to 1600 (monotonic).
      faults: [{ action: "stall-clients", instance: null, firedAtMs: 2400, endedAtMs: 2600 }],
      collected: {
        reports: [
          {
            ...shard(30),
            instances: { deliveries: [20, 10], connections: [1, 1] },
            measures: { "catch-up": { counts: {}, timings: { catchUp: histogramOf(100, 200) } } },
            connections: [
              { user: "u1", channel: "c0", spans: [[0, null]] },
              { user: "u2", channel: "c0", spans: [[0, 1000]] },
            ],
          },
          {
            ...shard(25),
            instances: { deliveries: [5, 15], connections: [2, 0] },
            measures: { "catch-up": { counts: {}, timings: { catchUp: histogramOf(900) } } },
            connections: [{ user: "u3", channel: "c0", spans: [[0, null]] }],
          },
        ],
        missing: [],
        loads: [],
        parentLoopDelayP99Ms: 2,
        zombieTimeoutsMs: [],
      },
      instanceCount: 2,
      // What the probes sampled: each instance's CPU seconds, and the presence lists.
      measures: {
        "instance-spread": [1, 3],
        "presence-accuracy": [
          { channel: "c0", startMs: 500, endMs: 510, users: ["u1", "u2", "u3"] },
          // During the freeze: u1 and u3 listed though frozen (ghosts), u2 gone.
          { channel: "c0", startMs: 1450, endMs: 1460, users: ["u1", "u3"] },
          // After it: u3 back but not listed (missing).
          { channel: "c0", startMs: 2000, endMs: 2010, users: ["u1"] },
        ],
      },
    });
    expect(result.instances).toEqual({
      connections: [3, 1],
      deliveries: [25, 25],
      cpuSeconds: [1, 3],
    });
    expect(result.imbalance).toEqual({ connections: 1.5, deliveries: 1, cpuSeconds: 1.5 });
    expect(result.catchUp).toMatchObject({ count: 3, max: expect.closeTo(900, -1) });
    expect(result.presence).toMatchObject({
      samples: 3,
      listed: 6,
      ghosts: 2,
      ghostShare: 2 / 6,
      connected: 5,
      missing: 1,
      missingShare: 1 / 5,
      // u2 left at 1000 and was gone from the sample at 1450; u1 and u3 came back first.
      staleness: { count: 1, max: expect.closeTo(450, 0) },
      censored: 2,
    });
    // One instance, no churn, no presence sampled: none of them.
    const plain = run();
    expect([plain.instances, plain.imbalance, plain.catchUp, plain.presence]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    // A flap times catch-up too.
    const flapScenario = scenarioOf(
      "{ count: 4, channels: 1, rampUp: 0 }",
      "faults:\n  - { at: 1500ms, action: flap, every: 1s, offlineFor: 200ms, fraction: 1 }\n",
    );
    expect(run({ scenario: flapScenario }).catchUp).toMatchObject({ count: 0 });
  });
});
