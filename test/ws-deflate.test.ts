import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";

/**
 * permessage-deflate end to end: websocket.deflate negotiated by the
 * clients (ws-deflate.ts) and the reference server. With text payloads the
 * wire carries fewer bytes per delivery than without deflate, and every
 * message arrives either way.
 */
const CLIENTS = 10;

function scenario(deflate: "on" | "off") {
  return parseScenario(
    `
name: deflate-${deflate}
protocols: [websocket]
clients: { count: ${CLIENTS}, channels: 2, rampUp: 200ms, shards: 1 }
publish: { rate: 10/s, payloadBytes: 2000, payload: text }
duration: 2000ms
warmup: 500ms
drain: 1000ms
websocket: { deflate: ${deflate}, deflateThreshold: 256 }
`,
    "deflate.yaml",
  );
}

function exact(r: ProtocolResult | undefined): ProtocolResult {
  expect(r).toBeDefined();
  const p = r as ProtocolResult;
  expect(p.connected).toBe(CLIENTS);
  expect(p.published).toBeGreaterThan(10);
  expect(p.lost).toBe(0);
  expect(p.duplicates).toBe(0);
  return p;
}

describe("websocket.deflate (permessage-deflate)", () => {
  it("compresses text payloads on the wire, with nothing lost", async () => {
    const on = await runScenario(scenario("on"));
    const off = await runScenario(scenario("off"));
    const compressed = exact(on.protocols.websocket);
    const plain = exact(off.protocols.websocket);
    // 2,000-byte bodies of text: a fraction of the bytes (headers and frames included).
    expect(compressed.bytesPerDelivery).toBeLessThan((plain.bytesPerDelivery ?? 0) / 3);
  }, 60_000);
});
