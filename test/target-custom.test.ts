import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { type CustomServer, startCustomServer } from "./helpers/custom-server.js";

/**
 * A server rtbench has no preset for, described by the templates,
 * measured over the four transports it offers: real sockets, real shards.
 */
describe("protocol custom against a server written in the test", () => {
  let server: CustomServer;
  beforeAll(async () => {
    server = await startCustomServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("delivers everything on every offered transport, counting the frames without a body", async () => {
    const scenario = parseScenario(
      `
name: custom
target:
  url: ${server.url}
  protocol: custom
  publish: { method: POST, path: "/publish/{channel}", body: '{"data":{body}}', headers: {x-key: abc} }
  websocket: { path: "/live?topic={channel}", resume: "&after={cursor}" }
  sse: { path: "/events/{channel}" }
  longPoll: { path: "/poll/{channel}?after={cursor}&wait=25" }
  shortPoll: { path: "/poll/{channel}?after={cursor}&wait=0" }
  message: { body: "/data", id: "/seq" }
  poll: { list: "/items", cursor: "/next" }
clients: { count: 20, channels: 2, rampUp: 300ms, shards: 1 }
publish: { rate: 20/s }
duration: 2500ms
warmup: 500ms
drain: 1500ms
shortPoll: { interval: 200ms }
`,
      "custom.yaml",
    );
    expect(scenario.protocols).toEqual(["short-poll", "long-poll", "sse", "websocket"]);
    const result = await runScenario(scenario);
    expect(result.status).toBe("complete");
    expect(result.setup).toMatchObject({ targetProtocol: "custom", publishAcknowledged: true });
    for (const name of scenario.protocols) {
      const p = result.protocols[name] as ProtocolResult;
      expect(p, name).toBeDefined();
      expect(p.connected, name).toBe(20);
      expect(p.published, name).toBeGreaterThanOrEqual(35);
      expect(p.publishFailed, name).toBe(0);
      expect(p.expected, name).toBe(p.published * 10);
      expect(p.delivered, name).toBe(p.expected);
      expect(p.lost, name).toBe(0);
      expect(p.duplicates, name).toBe(0);
      // A running server's cost is not ours to sample.
      expect(p.server.cpuSecondsPer1kDeliveries, name).toBeNull();
    }
    // One hello frame per WebSocket; one data-less event per SSE stream, and the server's
    // `event: ping` every 200 ms (events of another name than sse.event); polls meet none.
    expect(result.protocols.websocket?.unrecognisedFrames).toBe(20);
    expect(result.protocols.sse?.unrecognisedFrames).toBeGreaterThan(20);
    expect(result.protocols["long-poll"]?.unrecognisedFrames).toBe(0);
    expect(result.protocols["short-poll"]?.requestsPerDelivery).toBeGreaterThan(0);
  }, 60_000);
});
