import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { transportNames } from "../src/shared/transports.js";

/**
 * End to end over TLS: `server.tls: true` makes a throwaway CA, the
 * reference server serves HTTPS (HTTP/2 by ALPN), and every transport's
 * clients and the publisher trust the CA and deliver everything.
 */
const CLIENTS = 20;
const CHANNELS = 2;

function tlsScenario(extra = "") {
  return parseScenario(
    `
name: tls
server: { tls: true }
clients: { count: ${CLIENTS}, channels: ${CHANNELS}, rampUp: 300ms, shards: 1 }
publish: { rate: 10/s, payloadBytes: 200 }
duration: 1500ms
warmup: 400ms
drain: 800ms
shortPoll: { interval: 200ms }
longPoll: { timeout: 5s }
sseH2: { streamsPerConnection: 5 }
${extra}
`,
    "tls.yaml",
  );
}

function expectExact(name: string, r: ProtocolResult | undefined) {
  expect(r, name).toBeDefined();
  const p = r as ProtocolResult;
  expect(p.connected, name).toBe(CLIENTS);
  expect(p.published, name).toBeGreaterThan(5);
  expect(p.expected, name).toBe(p.published * (CLIENTS / CHANNELS));
  expect(p.lost, name).toBe(0);
  expect(p.duplicates, name).toBe(0);
}

describe("a run over TLS against the reference server (server.tls: true)", () => {
  it("every transport delivers everything, and connect is split into TCP, TLS and HTTP", async () => {
    const result = await runScenario(tlsScenario(`protocols: [${transportNames().join(", ")}]`));
    expect(result.error).toBeUndefined();
    for (const name of transportNames()) {
      const p = result.protocols[name];
      expectExact(name, p);
      const handshakes = (p?.tlsFullHandshakes ?? 0) + (p?.tlsResumedHandshakes ?? 0);
      // One handshake per TCP connection a subscriber opened, timed apart from TCP.
      expect(p?.tlsHandshake?.count, name).toBe(handshakes);
      expect(p?.connectTcp?.count, name).toBeGreaterThanOrEqual(handshakes);
      expect(handshakes, name).toBeGreaterThan(0);
      expect(p?.tlsHandshake?.min, name).toBeGreaterThan(0);
    }
    // A poll client that reconnects (or a second client of a shard) resumes the session.
    const sse = result.protocols.sse as ProtocolResult;
    expect(sse.tlsFullHandshakes + sse.tlsResumedHandshakes).toBe(CLIENTS);
    expect(sse.tlsResumedHandshakes).toBeGreaterThan(0);
    expect(sse.connectHttp?.count).toBe(CLIENTS);
    // HTTP/2 over TLS by ALPN: one TCP (and TLS) connection per streamsPerConnection streams.
    const h2 = result.protocols["sse-h2"] as ProtocolResult;
    expect(h2.tcpConnections).toBe(CLIENTS / 5);
    expect(h2.tlsFullHandshakes + h2.tlsResumedHandshakes).toBe(CLIENTS / 5);
  }, 90_000);
});
