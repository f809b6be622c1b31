import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { packageRoot } from "../src/util/paths.js";

/**
 * A real Socket.IO server (examples/targets/socketio-server.js) started by
 * rtbench from the scenario's command, measured through socket.io-client.
 */
const SERVER = join(packageRoot, "examples", "targets", "socketio-server.js");
const SUBSCRIBERS_PER_CHANNEL = 10;

function socketIoScenario(flags: string, extra: string, targetExtra = "", clientsExtra = "") {
  return parseScenario(
    `
name: socketio-test
target:
  protocol: socketio
  command: "node ${SERVER} --port {port} ${flags}"
  health: /healthz
${targetExtra}
clients: { count: 20, channels: 2, rampUp: 300ms, shards: 1${clientsExtra} }
publish: { rate: 20/s }
reconnect: { initialDelay: 100ms, maxDelay: 500ms, jitter: none }
${extra}
`,
    "socketio-test.yaml",
  );
}

/** A stall longer than engine.io's heartbeat (500 + 500 ms): every client notices it. */
const STALL = `duration: 5s
warmup: 500ms
drain: 3s
faults: [{ at: 2500ms, action: stall, instance: 0, for: 2s }]`;

describe("protocol socketio against a real Socket.IO server", () => {
  // The first three run side by side, each with a server of its own: they count messages,
  // breaks and losses. The network test after them, which bounds latencies, runs alone.
  it.concurrent("delivers everything over engine.io's long polls and WebSocket, acknowledged", async () => {
    const result = await runScenario(
      socketIoScenario("--recovery", "duration: 2500ms\nwarmup: 500ms\ndrain: 1500ms"),
    );
    expect(result.error).toBeUndefined();
    expect(Object.keys(result.protocols)).toEqual(["long-poll", "websocket"]);
    expect(result.setup.publishAcknowledged).toBe(true);
    for (const [name, p] of Object.entries(result.protocols)) {
      expect(p.connected, name).toBe(20);
      expect(p.published, name).toBeGreaterThanOrEqual(35);
      expect(p.publishFailed, name).toBe(0);
      expect(p.expected, name).toBe(p.published * SUBSCRIBERS_PER_CHANNEL);
      expect(p.delivered, name).toBe(p.expected);
      expect(p.lost, name).toBe(0);
      expect(p.duplicates, name).toBe(0);
      expect(p.bytesPerDelivery, name).toBeGreaterThan(0);
      expect(p.server.cpuSecondsPer1kDeliveries, name).toBeGreaterThan(0);
    }
    expect(result.protocols["long-poll"]?.requests).toBeGreaterThan(0);
  }, 60_000);

  it.concurrent("recovers what a stall made the clients miss, with connection state recovery", async () => {
    const result = await runScenario(
      socketIoScenario(
        "--recovery --ping-interval 500 --ping-timeout 500",
        `protocols: [websocket]\n${STALL}`,
      ),
    );
    const p = result.protocols.websocket as ProtocolResult;
    expect(p.breaks).toBe(20);
    expect(p.neverReconnected).toBe(0);
    expect(p.lost).toBe(0);
    expect(p.delivered).toBe(p.expected);
  }, 60_000);

  it.concurrent("counts the loss without recovery, and says when publishes are not acknowledged", async () => {
    const result = await runScenario(
      socketIoScenario(
        "--ping-interval 500 --ping-timeout 500",
        `protocols: [websocket]\n${STALL}`,
        "  socketio: { ack: false }",
      ),
    );
    expect(result.setup.publishAcknowledged).toBe(false);
    expect(result.setup.notes.join("\n")).toMatch(/does not acknowledge publishes/);
    const p = result.protocols.websocket as ProtocolResult;
    // Emitted is sent: failures are not known rather than zero.
    expect(p.publishFailed).toBeNull();
    expect(p.breaks).toBe(20);
    expect(p.lost).toBeGreaterThan(0);
    expect(p.delivered + p.lost).toBe(p.expected);
    expect(p.duplicates).toBe(0);
    // What was lost was published while the clients were away: at most the
    // stall and the reconnect after it, for every subscriber of a channel.
    const fault = p.faults[0];
    const awayMs = (fault?.endedAtMs ?? 0) - (fault?.firedAtMs ?? 0) + 1500;
    expect(p.lost).toBeLessThanOrEqual(((20 * awayMs) / 1000) * SUBSCRIBERS_PER_CHANNEL);
  }, 60_000);

  it("puts socket.io-client behind the client's network on both engine.io transports", async () => {
    // Through each client's own http.Agent (targets/socketio-client.ts): the
    // long polls' requests and the WebSocket upgrade's connection both.
    const result = await runScenario(
      socketIoScenario(
        "",
        "duration: 2500ms\nwarmup: 500ms\ndrain: 1500ms",
        "",
        ", network: { latency: 100ms }",
      ),
    );
    expect(Object.keys(result.protocols)).toEqual(["long-poll", "websocket"]);
    for (const [name, p] of Object.entries(result.protocols)) {
      expect(p.connected, name).toBe(20);
      expect(p.lost, name).toBe(0);
      expect(p.delivered, name).toBeGreaterThan(0);
    }
    // Loopback alone delivers in a few ms: what is left is the profile's one-way latency.
    const websocket = result.protocols.websocket as ProtocolResult;
    expect(websocket.latency.p50).toBeGreaterThan(95);
    expect(websocket.latency.p50).toBeLessThan(160);
    // A message every 100 ms per channel, and a poll back at the server once per 200 ms
    // round trip: a message waits about half a round trip for it, then the trip back.
    const longPoll = result.protocols["long-poll"] as ProtocolResult;
    expect(longPoll.latency.p50).toBeGreaterThan(150);
    expect(longPoll.latency.p50).toBeLessThan(300);
  }, 60_000);
});
