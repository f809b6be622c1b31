import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import type { RtbenchError } from "../src/shared/errors.js";
import { defaultTransportNames } from "../src/shared/transports.js";
import { describeRedis } from "./helpers/redis.js";

/**
 * Faults against real processes: server instances are SIGKILLed, SIGSTOPped
 * and told to drop connections, and the clients' recovery is measured.
 */

/**
 * The two SIGKILL tests run side by side on the suite's one Redis (their assertions count
 * messages and breaks, not milliseconds); each has channels of its own, so neither run's
 * subscribers see the other's messages.
 */
function killScenario(resume: boolean) {
  return parseScenario(
    `
name: kill-${resume ? "resume" : "no-resume"}
# With resume, SSE over HTTP/2 too: a killed instance takes whole sessions, many streams each.
protocols: [${[...defaultTransportNames(), ...(resume ? ["sse-h2"] : [])].join(", ")}]
server: { instances: 2, broker: redis, heartbeatInterval: 1s }
clients: { count: 60, channels: 3, rampUp: 300ms, channelPrefix: ${resume ? "resume" : "from-now"}- }
publish: { rate: 30/s, payloadBytes: 200 }
duration: 5s
warmup: 500ms
drain: 3s
shortPoll: { interval: 300ms }
longPoll: { timeout: 5s }
faults:
  - { at: 2s, action: kill, instance: 1, restartAfter: 1500ms }
reconnect: { initialDelay: 200ms, maxDelay: 1s, jitter: full, resume: ${resume} }
`,
    "kill.yaml",
  );
}

describeRedis("SIGKILL of one of two instances", (redis) => {
  it.concurrent("every protocol recovers with zero loss and no duplicates when clients resume", async ({
    expect,
  }) => {
    const result = await runScenario(killScenario(true), { redisUrl: redis.url });
    expect(Object.keys(result.protocols)).toContain("sse-h2");
    for (const protocol of Object.keys(result.protocols)) {
      const r = result.protocols[protocol] as ProtocolResult;
      expect(
        r.faults.map((f) => f.action),
        protocol,
      ).toEqual(["kill"]);
      // About half the clients were on the killed instance.
      expect(r.breaks, protocol).toBeGreaterThanOrEqual(20);
      expect(r.reconnects, protocol).toBe(r.breaks);
      expect(r.neverReconnected, protocol).toBe(0);
      expect(r.reconnect.min, protocol).toBeGreaterThan(0);
      expect(r.outage.count, protocol).toBeGreaterThan(0);
      expect(r.expected, protocol).toBeGreaterThan(0);
      expect(r.lost, protocol).toBe(0);
      expect(r.duplicates, protocol).toBe(0);
      expect(r.delivered, protocol).toBe(r.expected);
      // A killed process's CPU and memory counters restart: cost is not reported.
      expect(r.server.cpuSecondsPer1kDeliveries, protocol).toBeNull();
    }
  }, 150_000);

  it.concurrent("the same fault loses messages when clients reconnect from now", async ({
    expect,
  }) => {
    const result = await runScenario(killScenario(false), { redisUrl: redis.url });
    for (const protocol of defaultTransportNames()) {
      const r = result.protocols[protocol] as ProtocolResult;
      expect(r.breaks, protocol).toBeGreaterThanOrEqual(20);
      expect(r.lost, protocol).toBeGreaterThan(0);
      expect(r.delivered + r.lost, protocol).toBe(r.expected);
    }
  }, 150_000);
});

describe("reconnect storms and stalls (memory broker)", () => {
  function dropScenario(jitter: "none" | "full") {
    return parseScenario(
      `
name: drop-${jitter}
protocols: [websocket]
clients: { count: 300, channels: 3, rampUp: 500ms }
publish: { rate: 10/s }
duration: 8s
warmup: 500ms
drain: 1s
faults:
  - { at: 1500ms, action: drop, fraction: 1 }
reconnect: { initialDelay: 5s, maxDelay: 5s, jitter: ${jitter}, resume: true }
`,
      `drop-${jitter}.yaml`,
    );
  }

  it("full jitter lowers the peak of reconnect attempts per second", async () => {
    // Side by side (as the latency test in run.test.ts): whatever else the machine is doing
    // weighs on both herds alike, and the two peaks are compared with each other.
    const websocket = async (jitter: "none" | "full") =>
      (await runScenario(dropScenario(jitter))).protocols.websocket as ProtocolResult;
    const [none, full] = await Promise.all([websocket("none"), websocket("full")]);
    expect(none.breaks).toBe(300);
    expect(full.breaks).toBe(300);
    expect(none.reconnects).toBe(300);
    expect(full.reconnects).toBe(300);
    // Without jitter the whole herd comes back 5 s later, within one second (or two, if the
    // instant falls on a second boundary: at worst 150 + 150); full jitter spreads it over five.
    expect(none.peakConnectAttemptsPerSec).toBeGreaterThanOrEqual(150);
    expect(full.peakConnectAttemptsPerSec).toBeLessThan(none.peakConnectAttemptsPerSec * 0.75);
    expect(full.lost).toBe(0);
  });

  describeRedis("stall", (redis) => {
    it("WebSocket and SSE clients notice a stalled instance within the heartbeat limit", async () => {
      const heartbeatMs = 500;
      const watchdog = 3;
      const scenario = parseScenario(
        `
name: stall
protocols: [websocket, sse]
server: { instances: 2, broker: redis, heartbeatInterval: ${heartbeatMs}ms }
clients: { count: 40, channels: 2, rampUp: 300ms }
publish: { rate: 10/s }
duration: 6s
warmup: 500ms
drain: 2s
faults:
  - { at: 1500ms, action: stall, instance: 0, for: 4s }
reconnect: { initialDelay: 200ms, maxDelay: 1s, jitter: full, resume: true, watchdog: ${watchdog} }
`,
        "stall.yaml",
      );
      const result = await runScenario(scenario, { redisUrl: redis.url });
      for (const protocol of ["websocket", "sse"] as const) {
        const r = result.protocols[protocol] as ProtocolResult;
        const detection = r.stallDetection;
        expect(detection, protocol).not.toBeNull();
        // Half the clients were on the stalled instance; each noticed it once, by silence.
        expect(detection?.count, protocol).toBe(20);
        expect(r.watchdogBreaks, protocol).toBeGreaterThanOrEqual(20);
        // Silence for `watchdog` intervals, plus the watchdog's own scan period and slack for a busy machine.
        expect(detection?.max ?? Number.POSITIVE_INFINITY, protocol).toBeLessThanOrEqual(
          watchdog * heartbeatMs + 1000,
        );
        expect(detection?.min ?? 0, protocol).toBeGreaterThanOrEqual(heartbeatMs);
        expect(r.lost, protocol).toBe(0);
      }
    });
  });
});

describe("zombie clients (stall-clients)", () => {
  it("the server drops silent WebSocket clients after 3 heartbeats; an SSE server cannot tell", async () => {
    const heartbeatMs = 300;
    const scenario = parseScenario(
      `
name: zombie-clients
protocols: [websocket, sse]
server: { heartbeatInterval: ${heartbeatMs}ms }
clients: { count: 20, channels: 2, rampUp: 200ms }
publish: { rate: 10/s }
duration: 5s
warmup: 500ms
drain: 2s
faults:
  - { at: 1500ms, action: stall-clients, for: 2s }
reconnect: { initialDelay: 200ms, maxDelay: 1s, resume: true }
`,
      "zombie-clients.yaml",
    );
    const result = await runScenario(scenario);
    const ws = result.protocols.websocket as ProtocolResult;
    const sse = result.protocols.sse as ProtocolResult;
    // Every WebSocket was dropped by the server, after 3 missed heartbeats and before a 4th + slack.
    expect(ws.serverStallDetection?.count).toBe(20);
    expect(ws.serverStallDetection?.min ?? 0).toBeGreaterThanOrEqual(2 * heartbeatMs);
    expect(ws.serverStallDetection?.max ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
      5 * heartbeatMs + 500,
    );
    expect(ws.reconnects).toBe(20);
    // SSE has no client-to-server heartbeat: the server never notices...
    expect(sse.serverStallDetection?.count).toBe(0);
    // ...and the clients' own watchdog does not blame the server for their pause.
    expect(sse.watchdogBreaks).toBe(0);
    for (const r of [ws, sse]) {
      expect(r.lost).toBe(0);
      expect(r.duplicates).toBe(0);
    }
  });

  it("the watchdog leaves eventsource clients alone on a quiet channel (they cannot see heartbeats)", async () => {
    const scenario = parseScenario(
      `
name: quiet-eventsource
protocols: [sse]
server: { heartbeatInterval: 200ms }
clients: { count: 5, channels: 1, rampUp: 100ms }
publish: { rate: 0.5/s }
duration: 3s
warmup: 0
drain: 500ms
sse: { client: eventsource }
reconnect: { watchdog: 3 }
`,
      "quiet-eventsource.yaml",
    );
    // Gaps of 2 s between messages are far beyond 3 x 200 ms of silence.
    const sse = (await runScenario(scenario)).protocols.sse as ProtocolResult;
    expect(sse.breaks).toBe(0);
    expect(sse.lost).toBe(0);
    expect(sse.delivered).toBeGreaterThan(0);
  });

  it("stall-clients needs a duration", () => {
    let details: string[] = [];
    try {
      parseScenario("faults:\n  - { at: 1s, action: stall-clients }\n", "bad.yaml");
    } catch (error) {
      details = (error as RtbenchError).details;
    }
    expect(details.join("\n")).toMatch(/^faults\[0\]\.for: /m);
  });
});
