import { describe, expect, it } from "vitest";
import { startReferenceServer } from "../reference-server/index.js";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { defaultTransportNames } from "../src/shared/transports.js";
import { describeRedis } from "./helpers/redis.js";

/**
 * End to end: the real reference server in child processes, real shards,
 * real sockets. Small and short, so the whole file stays well under a minute
 * per broker on a 2-core machine.
 */
const SUBSCRIBERS_PER_CHANNEL = 10;

function smallScenario(extra = "", clients = "") {
  return parseScenario(
    `
name: e2e
clients: { count: 40, channels: 4, rampUp: 300ms${clients} }
publish: { rate: 20/s, payloadBytes: 200 }
duration: 2500ms
warmup: 500ms
drain: 1500ms
shortPoll: { interval: 200ms }
longPoll: { timeout: 5s }
${extra}
`,
    "e2e.yaml",
  );
}

function expectCompleteDelivery(result: ProtocolResult | undefined) {
  expect(result).toBeDefined();
  const r = result as ProtocolResult;
  expect(r.connected).toBe(40);
  expect(r.published).toBeGreaterThanOrEqual(35);
  expect(r.publishFailed).toBe(0);
  // Every subscriber was ready before the window: each message is expected once per subscriber of its channel.
  expect(r.expected).toBe(r.published * SUBSCRIBERS_PER_CHANNEL);
  expect(r.delivered).toBe(r.expected);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  expect(r.reordered).toBe(0);
  expect(r.latency.count).toBe(r.delivered);
  expect(r.latency.min).toBeGreaterThan(0);
  expect(r.latencyFromSend.min).toBeGreaterThan(0);
  expect(r.latencyFromSend.p50).toBeLessThanOrEqual(r.latency.p50);
  expect(r.connect.count).toBe(40);
  expect(r.bytesPerDelivery).toBeGreaterThan(0);
}

// Alone, before the runs that go side by side below: it measures milliseconds.
describe("rtbench run, memory broker", () => {
  it("measured latency moves by a delay the server adds to every delivery", async () => {
    // Few clients and a steady rate keep both medians stable on a busy machine.
    const base = parseScenario(
      `
name: latency-shift
protocols: [websocket, sse]
clients: { count: 4, channels: 1, rampUp: 100ms }
publish: { rate: 50/s, payloadBytes: 200 }
duration: 2500ms
warmup: 500ms
drain: 500ms
`,
      "latency-shift.yaml",
    );
    const delayMs = 40;
    // Side by side, so whatever else the machine is doing weighs on both alike.
    const [plain, delayed] = await Promise.all([
      runScenario(base),
      runScenario({ ...base, server: { ...base.server, deliveryDelayMs: delayMs } }),
    ]);
    // The server holds each message with a timer, which never fires early but
    // fires late by however long its process waits for a core: 0.3-1 ms beside
    // a busy loop, 2.2 ms once in a full CI suite. So the median moves by a
    // little more than the delay; by less only through noise in the two
    // medians (1.2 ms less once, with three busy loops beside the suite).
    for (const protocol of ["websocket", "sse"] as const) {
      const shift =
        (delayed.protocols[protocol]?.latency.p50 ?? 0) -
        (plain.protocols[protocol]?.latency.p50 ?? 0);
      const message = `${protocol}: median moved by ${shift} ms`;
      expect(shift, message).toBeGreaterThanOrEqual(delayMs - 3);
      expect(shift, message).toBeLessThanOrEqual(delayMs + 5);
    }
  });
});

/**
 * The delivery runs side by side (describe.concurrent): they count messages, requests and
 * connections, and no assertion of theirs is about how long anything took.
 */
describe.concurrent("rtbench run, side by side", () => {
  describe("rtbench run, memory broker", () => {
    /**
     * One run of the small scenario over the four protocols, read by two tests: one checks
     * delivery, the other short polling's request count (the short-poll part of this run is the
     * same scenario the count test used to run on its own).
     */
    let fourProtocols: Promise<RunResult> | undefined;
    const fourProtocolRun = () => {
      fourProtocols ??= runScenario(smallScenario());
      return fourProtocols;
    };

    it("SSE over HTTP/2 delivers everything over one connection per streamsPerConnection clients", async () => {
      const scenario = smallScenario(
        "protocols: [sse, sse-h2]\nsseH2: { streamsPerConnection: 10 }",
        ", shards: 1",
      );
      const result = await runScenario(scenario);
      expectCompleteDelivery(result.protocols.sse);
      expectCompleteDelivery(result.protocols["sse-h2"]);
      expect(result.protocols.sse?.tcpConnections).toBe(40);
      expect(result.protocols["sse-h2"]?.tcpConnections).toBe(4);
    }, 120_000);

    it("delivers every message to every subscriber over all four protocols", async () => {
      const result = await fourProtocolRun();
      expect(result.status).toBe("complete");
      expect(Object.keys(result.protocols)).toEqual(defaultTransportNames());
      for (const protocol of defaultTransportNames())
        expectCompleteDelivery(result.protocols[protocol]);
      expect(result.protocols.websocket?.server.cpuSecondsPer1kDeliveries).toBeGreaterThan(0);
      expect(result.protocols.sse?.emptyPollShare).toBeNull();
    }, 120_000);

    it("short-poll request count matches window / interval x clients within 10%", async () => {
      const scenario = smallScenario();
      const result = await fourProtocolRun();
      const windowSeconds = (scenario.durationMs - scenario.warmupMs) / 1000;
      const expectedRequests =
        (windowSeconds / (Number(scenario.transports["short-poll"]?.settings.intervalMs) / 1000)) *
        40;
      const requests = result.protocols["short-poll"]?.requests ?? 0;
      expect(Math.abs(requests - expectedRequests) / expectedRequests).toBeLessThan(0.1);
    }, 120_000);
  });

  describe("rtbench run against a target", () => {
    it("measures a server it did not start, and does not report that server's cost", async () => {
      const server = await startReferenceServer();
      try {
        const scenario = parseScenario(
          `
name: target
protocols: [sse, websocket]
target: ${server.url}
clients: { count: 20, channels: 2, rampUp: 200ms }
publish: { rate: 20/s }
duration: 2s
warmup: 500ms
drain: 1s
`,
          "target.yaml",
        );
        const result = await runScenario(scenario);
        expect(result.setup.broker).toBe("external");
        expect(result.setup.target).toEqual([server.url]);
        for (const protocol of ["sse", "websocket"] as const) {
          const r = result.protocols[protocol] as ProtocolResult;
          expect(r.connected).toBe(20);
          expect(r.expected).toBe(r.published * 10);
          expect(r.lost).toBe(0);
          expect(r.server.cpuSecondsPer1kDeliveries).toBeNull();
          expect(r.server.rssBytesPerConnection).toBeNull();
          // Not rtbench's server: what it runs with is not known, and not guessed.
          expect(r.server.settings).toBeNull();
        }
      } finally {
        await server.close();
      }
    }, 120_000);
  });

  describeRedis("rtbench run, redis broker with two instances", (redis) => {
    it("delivers every message to every subscriber over all four protocols", async () => {
      const scenario = smallScenario("server: { instances: 2, broker: redis }");
      const result = await runScenario(scenario, { redisUrl: redis.url });
      expect(result.setup.broker).toBe("redis");
      expect(result.setup.instances).toBe(2);
      for (const protocol of defaultTransportNames())
        expectCompleteDelivery(result.protocols[protocol]);
      expect(result.protocols.sse?.server.settings).toMatchObject({
        broker: "redis",
        instanceId: "0",
      });
    }, 120_000);
  });
});
