import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import { flapOutages } from "../src/load/shards/network-plan.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { packageRoot } from "../src/util/paths.js";
import { seededRandom } from "../src/util/random.js";

/**
 * The flap fault through whole runs: every client's network goes away for
 * 1 s every 2 s (each on its own schedule), the heartbeat watchdog cuts the
 * stalled connection, and the client comes back when its network does.
 */

const CLIENTS = 6;
const SEED = 11;
const SOCKETIO_SERVER = join(packageRoot, "examples", "targets", "socketio-server.js");

/**
 * The server: the reference server (200 ms heartbeats: its clients' watchdog
 * cuts a stall at 600 ms), or the example Socket.IO server, whose engine.io
 * heartbeat (a ping every 200 ms, answered within 300 ms) makes
 * socket.io-client give up at 500 ms; with `resume`, connection state recovery.
 */
function serverLines(socketio: boolean, resume: boolean): string {
  if (!socketio) return "server: { heartbeatInterval: 200ms }";
  const recovery = resume ? " --recovery" : "";
  return `target:
  protocol: socketio
  command: "node ${SOCKETIO_SERVER} --port {port} --ping-interval 200 --ping-timeout 300${recovery}"
  health: /healthz`;
}

function flapScenario(resume: boolean, socketio = false) {
  return parseScenario(
    `
name: flap-${resume ? "resume" : "at-most-once"}
protocols: [websocket]
seed: ${SEED}
${serverLines(socketio, resume)}
clients: { count: ${CLIENTS}, channels: 1, rampUp: 100ms }
publish: { rate: 10/s, payloadBytes: 200 }
duration: 4s
warmup: 400ms
drain: 2s
reconnect: { initialDelay: 50ms, maxDelay: 200ms, jitter: none, resume: ${resume} }
faults:
  - { at: 500ms, action: flap, every: 2s, offlineFor: 1s, fraction: 1 }
`,
    "flap.yaml",
  );
}

/**
 * What the clients of a run could not get without resume: for each client's
 * outages (the same schedule the shards drew, from the same seed, in ms from
 * the start of ramp-up), the messages scheduled while its network was away.
 * A message near an outage's edge may go either way (the publish in
 * flight as it starts; after it ends, the reconnect's handshake on a busy
 * machine), so the count is a range: [strictly inside, inside with the
 * edges widened by 20 ms before and 100 ms after].
 */
function missedWhileOffline(
  result: RunResult,
  r: ProtocolResult,
): { outages: number; returns: number; inside: number; widened: number } {
  const { publishStartMs, measureStartMs, measureEndMs } = r.timeline?.phases ?? {
    publishStartMs: 0,
    measureStartMs: 0,
    measureEndMs: 0,
  };
  const intervalMs = 1000 / result.setup.ratePerSec;
  const plan = {
    startMs: 500,
    endMs: measureEndMs,
    everyMs: 2000,
    offlineForMs: 1000,
    fraction: 1,
    jitterMs: 0,
  };
  let outages = 0;
  // Outages over while messages still came: a return is timed at the first message after it.
  let returns = 0;
  let inside = 0;
  let widened = 0;
  for (let index = 0; index < CLIENTS; index++) {
    for (const [fromMs, toMs] of flapOutages(plan, seededRandom(SEED * 7_919 + index))) {
      outages++;
      if (toMs < measureEndMs - 2 * intervalMs) returns++;
      for (let at = publishStartMs; at < measureEndMs; at += intervalMs) {
        if (at < measureStartMs) continue;
        if (at > fromMs + 3 && at < toMs - 3) inside++;
        if (at > fromMs - 20 && at < toMs + 100) widened++;
      }
    }
  }
  return { outages, returns, inside, widened };
}

/** With resume: every break reconnected and recovered what it missed, nothing lost or twice. */
function expectEverythingRecovered(result: RunResult): { outages: number; returns: number } {
  const r = result.protocols.websocket as ProtocolResult;
  const { outages, returns, inside } = missedWhileOffline(result, r);
  // Each outage (1 s) outlasts the heartbeat (600 ms, 500 ms on Socket.IO): one break each.
  expect(r.breaks).toBe(outages);
  expect(r.reconnects).toBe(r.breaks);
  expect(r.lost).toBe(0);
  expect(r.duplicates).toBe(0);
  expect(r.delivered).toBe(r.expected);
  // What was published while away came from the server's history on the way back.
  expect(r.resumeRecovered).toBeGreaterThanOrEqual(inside);
  return { outages, returns };
}

/** Without resume: the loss is what was published while the network was away, and only that. */
function expectLostWhileOffline(result: RunResult): void {
  const r = result.protocols.websocket as ProtocolResult;
  const { outages, inside, widened } = missedWhileOffline(result, r);
  expect(r.breaks).toBe(outages);
  expect(r.duplicates).toBe(0);
  expect(r.resumeRecovered).toBe(0);
  expect(inside).toBeGreaterThan(0);
  expect(r.lost).toBeGreaterThanOrEqual(inside);
  expect(r.lost).toBeLessThanOrEqual(widened);
  expect(r.delivered + r.lost).toBe(r.expected);
}

describe("flap fault", () => {
  it("with resume, every client recovers what it missed: nothing lost, nothing twice", async () => {
    const result = await runScenario(flapScenario(true));
    const { outages, returns } = expectEverythingRecovered(result);
    const r = result.protocols.websocket as ProtocolResult;
    expect(r.catchUp?.count).toBeGreaterThanOrEqual(returns);
    expect(r.catchUp?.count).toBeLessThanOrEqual(outages);
    expect(r.catchUp?.max).toBeLessThan(1000);
  }, 40_000);

  it("without resume, a client loses what was published while its network was away, and only that", async () => {
    expectLostWhileOffline(await runScenario(flapScenario(false)));
  }, 40_000);
});

/**
 * The same flap on Socket.IO clients: socket.io-client's sockets go through
 * the client's own http.Agent, which puts them behind the client's network
 * (targets/socketio-client.ts), so the outage is a stall that engine.io's
 * heartbeat turns into a break. Connection state recovery is Socket.IO's resume.
 */
describe("flap fault on Socket.IO clients (the example server)", () => {
  it("with connection state recovery, nothing is lost, and the recovered messages keep their order", async () => {
    const result = await runScenario(flapScenario(true, true));
    expectEverythingRecovered(result);
    // Recovered events come before Socket.IO's CONNECT packet, and their cursors
    // still carry the session id: they are in order, not counted as reordered.
    expect(result.protocols.websocket?.reordered).toBe(0);
  }, 40_000);

  it("without it, a client loses what was published while its network was away, and only that", async () => {
    expectLostWhileOffline(await runScenario(flapScenario(false, true)));
  }, 40_000);
});
