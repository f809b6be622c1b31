import { beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import { fallbackBooks } from "../src/measures/fallback.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import type { PublishRecord } from "../src/run-model/publish-record.js";
import type { SubscriberReport } from "../src/run-model/shard-report.js";
import { parseScenario } from "../src/scenario/load.js";
import { describeProxy } from "./helpers/proxy.js";
import { problemsOf } from "./helpers/scenario-problems.js";

/**
 * clients.fallback: each client tries its transports in turn. Through a real
 * nginx that refuses WebSocket upgrades (server.proxy.blockUpgrade) every
 * client ends on SSE; without a proxy every client stays on WebSocket.
 */
const CLIENTS = 20;
const CHANNELS = 4;

/**
 * Clients sit 250 ms (one way) away, so falling back costs four round trips
 * (TCP and the refused upgrade, then TCP and SSE's response head): two
 * seconds, while the window (which starts 300 ms after the last client
 * started) is already publishing. Every client starts before the
 * window, so each is owed every message of the window on its channel:
 * those sent before its first ready are the fallback's, the rest expected.
 * Without a proxy (and on loopback) every client is ready long before the window.
 */
function fallbackScenario(server: string, network = "network: { latency: 250ms }") {
  return parseScenario(
    `
name: fallback-test
server: ${server}
clients:
  count: ${CLIENTS}
  channels: ${CHANNELS}
  rampUp: 200ms
  shards: 1
  fallback: [websocket, sse, long-poll]
  ${network}
publish: { rate: 20/s }
duration: 3500ms
warmup: 300ms
drain: 1s
`,
    "fallback-test.yaml",
  );
}

const only = (result: RunResult): ProtocolResult => {
  expect(result.error).toBeUndefined();
  expect(Object.keys(result.protocols)).toEqual(["websocket@fallback"]);
  return result.protocols["websocket@fallback"] as ProtocolResult;
};

/** Every message of the window, owed to every subscriber of its channel, is accounted once. */
function expectEveryMessageAccounted(p: ProtocolResult): void {
  expect(p.connected).toBe(CLIENTS);
  expect(p.published).toBeGreaterThan(10);
  expect(p.lost).toBe(0);
  expect(p.duplicates).toBe(0);
  expect(p.expected + (p.fallbackPublished ?? -1)).toBe(p.published * (CLIENTS / CHANNELS));
  expect((p.fallbackMissed ?? -1) + (p.fallbackDelivered ?? -1)).toBe(p.fallbackPublished);
  expect(p.timeToFirstMessage?.count).toBe(CLIENTS);
}

describeProxy("nginx", "fallback through nginx with blockUpgrade", () => {
  let p: ProtocolResult;
  beforeAll(async () => {
    p = only(
      await runScenario(
        fallbackScenario("{ broker: memory, proxy: { kind: nginx, blockUpgrade: true } }"),
      ),
    );
  }, 60_000);

  it("ends every client on SSE after one refused upgrade each", () => {
    expect(p.fallbackEndedOn).toEqual({ sse: CLIENTS, websocket: 0 });
    expect(p.fallbackFailedSteps).toBe(CLIENTS);
    expect(p.fallbackTimedOutSteps).toBe(0);
    // From the first attempt: the refused attempt's two round trips (1 s) come before
    // SSE's own, which are all that connect times.
    expect(p.fallbackConnect?.count).toBe(CLIENTS);
    expect(p.fallbackConnect?.min).toBeGreaterThan(p.connect.min + 400);
  });

  it("counts what was published while the clients fell back, exactly", () => {
    expectEveryMessageAccounted(p);
    // Four round trips of 500 ms before SSE is ready: messages were published meanwhile,
    // and without a cursor to resume from, those not already in flight are missed.
    expect(p.fallbackMissed).toBeGreaterThan(0);
    // The first message comes after the fallback, not before it.
    expect(p.timeToFirstMessage?.min).toBeGreaterThan(4 * 250);
  });
});

describe("fallback without a proxy", () => {
  it("keeps every client on WebSocket and misses nothing", async () => {
    const p = only(await runScenario(fallbackScenario("{ broker: memory }", "")));
    expect(p.fallbackEndedOn).toEqual({ websocket: CLIENTS });
    expect(p.fallbackFailedSteps).toBe(0);
    expect(p.fallbackPublished).toBe(0);
    expect(p.fallbackMissed).toBe(0);
    expectEveryMessageAccounted(p);
  }, 60_000);
});

describe("fallbackBooks", () => {
  const record = (seq: number, sentMs: number, outcome: PublishRecord["outcome"] = "acked") =>
    ({ seq, dueMs: sentMs, sentMs, ackMs: 1, outcome }) satisfies PublishRecord;
  // Channel a: seq 1..6 sent at 10, 20, ..., 60; seq 4 was never acknowledged.
  const records = [
    [1, 2, 3, 4, 5, 6].map((seq) => record(seq, seq * 10, seq === 4 ? "unanswered" : "acked")),
  ];
  const subscriber = (
    received: number[][],
    fallbackStartMs: number | null | undefined,
    firstReadyMs: number | null,
  ): SubscriberReport => ({ channel: "a", firstReadyMs, received, fallbackStartMs });
  const window = { startMs: 0, endMs: 1000 };

  it("counts stored messages sent from a client's start to its first ready", () => {
    // Started at 15, ready at 45: seq 2, 3 (stored) and 4 (never stored: no one got it).
    const books = fallbackBooks(["a"], records, [subscriber([[5, 6]], 15, 45)], window);
    expect(books).toEqual({ published: 2, missed: 2, delivered: 0 });
  });

  it("counts a message sent before the ready and delivered after it as delivered", () => {
    // seq 4, unacknowledged, reached this client: the server stored it.
    const books = fallbackBooks(["a"], records, [subscriber([[4, 6]], 15, 45)], window);
    expect(books).toEqual({ published: 3, missed: 2, delivered: 1 });
  });

  it("leaves out clients without fallback or never ready, and messages outside the window", () => {
    const clients = [subscriber([], undefined, 45), subscriber([], 15, null)];
    expect(fallbackBooks(["a"], records, clients, window)).toEqual({
      published: 0,
      missed: 0,
      delivered: 0,
    });
    const late = { startMs: 25, endMs: 1000 };
    expect(fallbackBooks(["a"], records, [subscriber([], 0, 100)], late)).toEqual({
      published: 3,
      missed: 3,
      delivered: 0,
    });
  });
});

describe("clients.fallback in a scenario", () => {
  const base = (clients: string, rest = "") => `
name: bad
clients: { count: 10, ${clients} }
${rest}`;

  it("names unknown transports, duplicates and an empty list", () => {
    expect(problemsOf(base("fallback: [websocket, sse2, websocket]"))).toEqual([
      'clients.fallback[1]: expected one of short-poll, long-poll, sse, sse-h2, websocket, found "sse2"',
      'clients.fallback[2]: expected each item once, found "websocket" again (also at clients.fallback[0])',
    ]);
    expect(problemsOf(base("fallback: []"))).toEqual([
      "clients.fallback: expected a non-empty list of short-poll, long-poll, sse, sse-h2, websocket, found []",
    ]);
  });

  it("runs as one protocol run keyed by its first transport", () => {
    const scenario = parseScenario(base("fallback: [sse, long-poll]"), "ok.yaml");
    expect(scenario.protocols).toEqual(["sse"]);
    expect(scenario.clients.fallback).toEqual({
      order: ["sse", "long-poll"],
      stepTimeoutMs: 3000,
    });
    expect(problemsOf(base("fallback: [websocket, sse]", "protocols: [sse]"))).toEqual([
      expect.stringMatching(
        /^protocols: expected \[websocket\] or no protocols with clients\.fallback .*websocket@fallback/,
      ),
    ]);
  });

  it("takes variants, one run each, and refuses a target", () => {
    const scenario = parseScenario(
      base(
        "fallback: [websocket, sse]",
        "variants: [{ name: two, server: { heartbeatInterval: 5s } }]",
      ),
      "ok.yaml",
    );
    expect(scenario.protocols).toEqual(["websocket"]);
    expect(scenario.variants.map((v) => v.name)).toEqual(["two"]);
    expect(
      problemsOf(base("fallback: [websocket, sse]", "target: http://127.0.0.1:1")).join("\n"),
    ).toMatch(/clients\.fallback: expected the reference server/);
  });
});
