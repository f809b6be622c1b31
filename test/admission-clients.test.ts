/**
 * Clients against a full reference server: an instance that admits a few
 * subscribers (server.maxConnections) answers the rest 503 with Retry-After
 * (reference-server/admission.ts: 5 to 14 s). rtbench's clients wait as
 * told instead of backing off, the result counts who never got in, and the
 * run is invalid because of them.
 */
import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";

const CLIENTS = 30;

function fullServer(protocols: string, honorServerRetry: boolean, duration: string) {
  return parseScenario(
    `
name: full-server
protocols: [${protocols}]
server: { maxConnections: 10 }
clients: { count: ${CLIENTS}, channels: 1, rampUp: 200ms }
publish: { rate: 10/s, payloadBytes: 200 }
duration: ${duration}
warmup: 300ms
drain: 300ms
reconnect: { initialDelay: 250ms, maxDelay: 2s, jitter: full, honorServerRetry: ${honorServerRetry} }
`,
    "full-server.yaml",
  );
}

describe("clients against a full server", () => {
  it("wait as Retry-After says, are counted as never connected, and make the run invalid", async () => {
    const result = await runScenario(fullServer("sse, websocket, short-poll", true, "1s"));
    if (result.status === "failed") throw new Error(String(result.error));
    expect(result.status).toBe("invalid");
    for (const [protocol, r] of Object.entries(result.protocols) as [string, ProtocolResult][]) {
      process.stderr.write(
        `full server, ${protocol}: ${r.connected} connected, ${r.neverConnected} never, ${r.connectFailures} failed attempts, ${r.admissionWaits} admission waits\n`,
      );
      // Some got in (the publisher's connection counts against the limit too), most did not.
      expect(r.connected, protocol).toBeGreaterThan(0);
      expect(r.connected, protocol).toBeLessThanOrEqual(10);
      expect(r.neverConnected, protocol).toBe(CLIENTS - r.connected);
      // One refusal each: the next try is 5 s or more away, after the run.
      expect(r.connectFailures, protocol).toBe(r.neverConnected);
      // A poller let in can be refused later, on a new connection for its next poll: a wait too.
      expect(r.admissionWaits, protocol).toBeGreaterThanOrEqual(r.connectFailures);
      expect(r.status, protocol).toBe("invalid");
      expect(r.invalidReasons?.[0], protocol).toMatch(
        new RegExp(
          `^${r.neverConnected} of ${CLIENTS} clients never connected \\(\\d+(\\.\\d)? %, more than clients.maxNeverConnectedShare 1 %\\): HTTP 503`,
        ),
      );
    }
  }, 60_000);

  it("back off as usual when told to ignore the server (reconnect.honorServerRetry: false)", async () => {
    const result = await runScenario(fullServer("websocket", false, "1500ms"));
    const r = result.protocols.websocket as ProtocolResult;
    process.stderr.write(
      `full server ignored: ${r.neverConnected} never connected, ${r.connectFailures} failed attempts\n`,
    );
    expect(r.admissionWaits).toBe(0);
    // Backoff from 250 ms retries several times within the run: the storm admission avoids.
    expect(r.connectFailures).toBeGreaterThanOrEqual(3 * r.neverConnected);
    expect(r.neverConnected).toBe(CLIENTS - r.connected);
  }, 60_000);
});
