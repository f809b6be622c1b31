import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readResultFile } from "../src/gate/result-file.js";
import { runScenario } from "../src/load/run.js";
import type { ProtocolTimeline } from "../src/metrics/protocol-timeline.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { renderJson } from "../src/report/json.js";
import { parseScenario } from "../src/scenario/load.js";

/**
 * End to end: a real run whose only server instance is killed at 3 s and
 * comes back 1 s later, over two generator processes. Its per-second
 * timeline must add up to the totals exactly, and put the fault's breaks in
 * the second it fired.
 */
const SCENARIO = `
name: fault-at-3s
protocols: [websocket, short-poll]
clients: { count: 40, channels: 4, rampUp: 500ms, shards: 2 }
publish: { rate: 20/s, payloadBytes: 200 }
shortPoll: { interval: 200ms }
duration: 5s
warmup: 1s
drain: 1500ms
faults:
  - { at: 3s, action: kill, instance: 0, restartAfter: 1s }
reconnect: { initialDelay: 200ms, maxDelay: 1s, jitter: none, resume: true }
`;

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

let result: RunResult;

beforeAll(async () => {
  result = await runScenario(parseScenario(SCENARIO, "fault-at-3s.yaml"));
}, 60_000);

function each(check: (p: ProtocolResult, t: ProtocolTimeline) => void) {
  expect(Object.keys(result.protocols)).toEqual(["websocket", "short-poll"]);
  for (const p of Object.values(result.protocols)) {
    expect(p.timeline).toBeDefined();
    check(p, p.timeline as ProtocolTimeline);
  }
}

describe("the per-second timeline of a real run", () => {
  it("covers ramp-up to the end of drain, one entry per second in every series", () => {
    expect(result.status).toBe("complete");
    each((_, t) => {
      // 500 ms ramp-up + 5 s + 1.5 s drain = 7 seconds.
      expect(t.buckets).toBe(7);
      expect(t.phases).toEqual({
        publishStartMs: 500,
        measureStartMs: 1500,
        measureEndMs: 5500,
        drainEndMs: 7000,
      });
      for (const [key, value] of Object.entries(t)) {
        if (Array.isArray(value) && key !== "servers") expect(value, key).toHaveLength(7);
      }
      for (const server of t.servers) {
        expect(server.cpuMs).toHaveLength(7);
        expect(server.rssBytes).toHaveLength(7);
      }
    });
  });

  it("sums exactly to the totals", () => {
    each((p, t) => {
      expect(p.delivered).toBeGreaterThan(0);
      expect(sum(t.deliveries)).toBe(p.delivered);
      expect(sum(t.latencyCount)).toBe(p.latency.count);
      expect(p.breaks).toBe(40);
      expect(sum(t.breaks)).toBe(p.breaks);
      expect(p.requests).toBeGreaterThan(0);
      expect(sum(t.requests)).toBe(p.requests);
      expect(sum(t.reconnects)).toBe(p.reconnects);
      expect(sum(t.published)).toBe(p.published);
      expect(sum(t.publishFailed)).toBe(p.publishFailed);
      // Bytes in the window are what bytes per delivery is computed from.
      const bytes = sum(t.bytesIn) + sum(t.bytesOut);
      expect(bytes / p.delivered).toBeCloseTo(p.bytesPerDelivery as number, 6);
    });
  });

  it("counts every delivery per second too: warmup's and drain's, beside the expected ones", () => {
    each((p, t) => {
      const received = t.received as number[];
      expect(received).toHaveLength(t.buckets);
      // Every expected delivery is a delivery; warmup (500 ms to 1.5 s) delivers uncounted ones.
      expect(sum(received)).toBeGreaterThan(p.delivered);
      for (let i = 0; i < t.buckets; i++) {
        expect(received[i], `second ${i}`).toBeGreaterThanOrEqual(t.deliveries[i] as number);
      }
      expect(received[1]).toBeGreaterThan(t.deliveries[1] as number);
    });
  });

  it("puts the kill's breaks in the second it fired, and shows the clients down", () => {
    each((p, t) => {
      const kill = p.faults.find((f) => f.action === "kill");
      expect(kill?.firedAtMs).toBeGreaterThanOrEqual(3000);
      expect(kill?.firedAtMs).toBeLessThan(3500);
      expect(t.breaks[3]).toBe(40);
      expect(t.connectedMin[3]).toBe(0);
      expect(t.connected[2]).toBe(40);
      expect(t.connected[6]).toBe(40);
      expect(t.deliveries[1]).toBeGreaterThan(0);
      expect(t.latencyP99[2]).toBeGreaterThan(0);
      // The instance was down for a while after the kill: no sample, no CPU figure.
      const [server] = t.servers;
      expect(server?.cpuMs[1]).toBeGreaterThan(0);
      expect(server?.cpuMs.slice(3, 5)).toContain(null);
      // 20 publishes a second; one may slip into the next second on a busy machine.
      expect(Math.abs((t.publishesSent[2] ?? 0) - 20)).toBeLessThanOrEqual(1);
    });
  });

  it("keeps the scenario text, and writes a file that validates with compact series", () => {
    expect(result.scenario.text).toBe(SCENARIO);
    const file = join(mkdtempSync(join(tmpdir(), "rtbench-timeline-")), "result.json");
    const text = renderJson(result);
    expect(text).toContain('"breaks": [0, 0, 0, 40, 0, 0, 0]');
    writeFileSync(file, text);
    expect(readResultFile(file).protocols.websocket?.timeline?.buckets).toBe(7);
  });
});
