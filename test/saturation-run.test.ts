import { afterEach, describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { monoMs } from "../src/util/clock.js";
import { startToyServer, type ToyServer } from "./helpers/toy-server.js";

/**
 * Truth at saturation, end to end: real servers (written in the test, or the
 * reference server), real shards, real sockets. Each run is a few seconds.
 */
let toy: ToyServer | null = null;
afterEach(async () => {
  await toy?.close();
  toy = null;
});

describe("a server that acknowledges every publish 6 s late but delivers at once", () => {
  it("keeps the schedule, ends on time, counts every message delivered, and says the server saturated", async () => {
    toy = await startToyServer({ ackDelayMs: 6000 });
    const scenario = parseScenario(
      `
name: slow-acks
protocols: [websocket]
target: ${toy.url}
clients: { count: 10, channels: 2, rampUp: 200ms }
publish: { rate: 10/s }
duration: 4s
warmup: 1s
drain: 1s
`,
      "slow-acks.yaml",
    );
    const startedMs = monoMs();
    const result = await runScenario(scenario);
    const elapsedMs = monoMs() - startedMs;
    const ws = result.protocols.websocket as ProtocolResult;

    // Ramp-up, duration, then at most the acknowledgement timeout (5 s) after the last send.
    expect(elapsedMs).toBeLessThan(200 + 4000 + 5000 + 4000);
    // The schedule held: 40 sends in 4 s, never queued behind an unanswered one.
    expect(toy.stored).toBeGreaterThanOrEqual(39);
    expect(ws.publisher?.maxSlotWaitMs).toBe(0);
    expect(ws.publisher?.peakInFlight).toBeGreaterThanOrEqual(39);
    // Every message of the 3 s window is in the books: stored, expected and delivered.
    expect(ws.published).toBe(30);
    expect(ws.publishFailed).toBe(0);
    expect(ws.expected).toBe(30 * 5);
    expect(ws.delivered).toBe(ws.expected);
    expect(ws.lost).toBe(0);
    // Sent in the first 3 s of the run: answered 6 s later, before the run ended: late.
    expect(ws.publishAcks?.late).toBeGreaterThan(0);
    expect(ws.publishAcks?.inTime).toBe(0);
    expect((ws.publishAcks?.late ?? 0) + (ws.publishAcks?.unanswered ?? 0)).toBe(30);
    expect(ws.publishAck?.min).toBeGreaterThanOrEqual(5990);
    expect(ws.latency.p99).toBeLessThan(1000);
    expect(ws.saturation?.server.saturated).toBe(true);
    expect(ws.saturation?.server.reasons.join("\n")).toMatch(/acknowledged late/);
    expect(ws.saturation?.generator.saturated).toBe(false);
    expect(result.saturated).toBe(true);
    expect(result.reliable).toBe(true);
    expect(result.status).toBe("complete");
  });
});

describe("who saturated", () => {
  const previousBusy = process.env.RTBENCH_TEST_SHARD_BUSY;
  afterEach(() => {
    if (previousBusy === undefined) delete process.env.RTBENCH_TEST_SHARD_BUSY;
    else process.env.RTBENCH_TEST_SHARD_BUSY = previousBusy;
  });

  it("a starved generator is UNRELIABLE, with the shard as the reason, and the server not blamed", async () => {
    // The shard's event loop spins 95 % of every 100 ms (a test-only hook in shard-main).
    process.env.RTBENCH_TEST_SHARD_BUSY = "0.95";
    const scenario = parseScenario(
      `
name: starved
protocols: [websocket]
clients: { count: 10, channels: 1, rampUp: 200ms, shards: 1 }
publish: { rate: 20/s }
duration: 3s
warmup: 1s
drain: 1s
`,
      "starved.yaml",
    );
    const result = await runScenario(scenario);
    const ws = result.protocols.websocket as ProtocolResult;
    expect(result.reliable).toBe(false);
    expect(ws.generator.reliable).toBe(false);
    expect(ws.saturation?.generator.saturated).toBe(true);
    expect(ws.saturation?.generator.reasons.join("\n")).toMatch(/shard 0 (at|event loop busy)/);
    expect(ws.saturation?.server.saturated).toBe(false);
    const shard = ws.saturation?.processes.find((p) => p.role === "shard");
    expect(shard?.eventLoopUtilization).toBeGreaterThan(0.9);
  });

  it("a server whose delivery delay grows is SATURATED, with the rising latency as the reason", async () => {
    // No delay through warmup, then 300 ms more for every second.
    toy = await startToyServer({
      deliveryDelayMs: (sinceMs) => Math.max(0, sinceMs - 1000) * 0.3,
    });
    const scenario = parseScenario(
      `
name: slowing
protocols: [websocket]
target: ${toy.url}
clients: { count: 10, channels: 1, rampUp: 200ms }
publish: { rate: 20/s }
duration: 4s
warmup: 1s
drain: 2s
`,
      "slowing.yaml",
    );
    const result = await runScenario(scenario);
    const ws = result.protocols.websocket as ProtocolResult;
    expect(ws.lost).toBe(0);
    expect(result.reliable).toBe(true);
    expect(ws.saturation?.generator.saturated).toBe(false);
    expect(ws.saturation?.server.saturated).toBe(true);
    expect(ws.saturation?.server.reasons.join("\n")).toMatch(/latency rose from .* to .*/);
    // The timeline shows the rise second by second through the window.
    const timeline = ws.timeline as NonNullable<ProtocolResult["timeline"]>;
    const first = timeline.phases.measureStartMs / 1000;
    const inWindow = timeline.latencyP50.slice(first, first + 3) as number[];
    expect(inWindow).toHaveLength(3);
    expect(inWindow[2]).toBeGreaterThan((inWindow[0] as number) + 400);
  });
});
