/**
 * The fleet's decisions (reconnect backoff, giving up, failover, watchdog)
 * driven by a manual clock and scripted clients: a unit test of the fleet,
 * in milliseconds of real time. The transports themselves are tested over
 * real sockets in clients.test.ts and reconnect.test.ts. Longer than most
 * test files because every case shares the scripted client and setup below.
 */
import { describe, expect, it } from "vitest";
import type { ClientOptions, TransportClient } from "../src/clients/types.js";
import { Fleet } from "../src/load/fleet/fleet.js";
import { PAUSE_DETECT_MS, WATCHDOG_SCAN_MS } from "../src/load/fleet/watchdog.js";
import type { ShardStart } from "../src/load/shards/shard-protocol.js";
import { summarizeEncoded } from "../src/metrics/histogram.js";
import type { ShardReport } from "../src/run-model/shard-report.js";
import type { ReconnectPolicy } from "../src/scenario/types.js";
import type { ProtocolName } from "../src/shared/transports.js";
import { ManualClock } from "./helpers/manual-clock.js";

/** hang: neither ready nor refused (a proxy that swallows the request). */
type Outcome = "ready" | "fail" | "source refused" | "full" | "hang";

/** What a full server tells a refused client (Retry-After: 3). */
const FULL_RETRY_AFTER_MS = 3000;

/** A client whose connect succeeds or fails as scripted, and whose traffic the test sends. */
class ScriptedClient implements TransportClient {
  cursor: string | undefined;
  lastActivityMs: number | undefined;
  retryMs: number | undefined;
  retryAfterMs: number | undefined;
  closed = false;

  constructor(
    readonly protocol: ProtocolName,
    readonly options: ClientOptions,
    readonly createdAtMs: number,
    private readonly clock: ManualClock,
    private readonly outcome: Outcome,
    /** false: a client that cannot see heartbeats (the eventsource package). */
    private readonly reportsActivity: boolean,
  ) {}

  connect(): Promise<void> {
    if (this.outcome === "hang") return new Promise(() => {});
    if (this.outcome === "fail") return Promise.reject(new Error("connection refused"));
    if (this.outcome === "full") {
      this.retryAfterMs = FULL_RETRY_AFTER_MS;
      return Promise.reject(new Error("expected status 200, found 503 (server is full)"));
    }
    if (this.outcome === "source refused") {
      // What Node says when a socket in TIME_WAIT still holds the endpoint towards that server.
      const { address, port } = this.options.source ?? { address: "?", port: 0 };
      const error = new Error(`connect EADDRNOTAVAIL 127.0.0.1:1 - Local (${address}:${port})`);
      return Promise.reject(Object.assign(error, { code: "EADDRNOTAVAIL" }));
    }
    if (this.reportsActivity) this.lastActivityMs = this.clock.now();
    this.options.handlers.onReady(1);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
  }

  /** A message (or, without arguments, a heartbeat) from the server. */
  receive(id?: string, body?: unknown): void {
    if (this.reportsActivity) this.lastActivityMs = this.clock.now();
    if (id !== undefined) this.options.handlers.onMessage(id, body);
  }

  drop(): void {
    this.options.handlers.onBreak("closed by the test");
  }
}

const POLICY: ReconnectPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 4000,
  multiplier: 2,
  jitter: "none",
  maxRetries: 10,
  resume: true,
  // Off unless a test is about the watchdog, so silence after a reconnect breaks nothing.
  watchdogIntervals: 0,
  honorServerRetry: true,
};

interface Setup {
  protocol?: ProtocolName;
  clients?: number;
  urls?: string[];
  reconnect?: Partial<ReconnectPolicy>;
  /** Outcome of each attempt: attempt number (0-based over all clients), URL and transport. */
  script?: (attempt: number, url: string, protocol: ProtocolName) => Outcome;
  reportsActivity?: boolean;
  /** Give every client an explicit source endpoint. */
  sources?: boolean;
  /** clients.fallback: the transports tried in turn, and the step timeout. */
  fallback?: { protocols: ProtocolName[]; stepTimeoutMs: number };
}

function startFleet(setup: Setup = {}) {
  const clock = new ManualClock();
  const urls = setup.urls ?? ["http://a"];
  const count = setup.clients ?? 1;
  const spec: ShardStart = {
    type: "start",
    protocol: setup.protocol ?? "websocket",
    clients: Array.from({ length: count }, (_, index) => ({
      index,
      baseUrl: urls[index % urls.length] as string,
      channel: "c0",
      user: `u${index}`,
      ...(setup.sources && { source: { address: "127.0.0.2", port: 10_000 + index } }),
    })),
    totalClients: count,
    rampStartMs: clock.now(),
    rampUpMs: 0,
    measureStartMs: clock.now() + 1000,
    measureEndMs: clock.now() + 60_000,
    drainEndMs: clock.now() + 61_000,
    settings: {},
    urls,
    reconnect: { ...POLICY, ...setup.reconnect },
    heartbeatIntervalMs: 1000,
    seed: 7,
    fallback: setup.fallback && {
      steps: setup.fallback.protocols.map((protocol) => ({ protocol, settings: { protocol } })),
      stepTimeoutMs: setup.fallback.stepTimeoutMs,
    },
  };
  const attempts: ScriptedClient[] = [];
  const script = setup.script ?? (() => "ready");
  const fleet = new Fleet(spec, {
    clock,
    createClient: (protocol, options) => {
      const client = new ScriptedClient(
        protocol,
        options,
        clock.now(),
        clock,
        script(attempts.length, options.baseUrl, protocol),
        setup.reportsActivity ?? true,
      );
      attempts.push(client);
      return client;
    },
  });
  const start = async () => {
    await fleet.rampUp(new AbortController().signal);
    await clock.advance(0);
  };
  /** The newest client of subscriber `user`. */
  const current = (user = "u0") =>
    attempts.filter((c) => c.options.user === user).at(-1) as ScriptedClient;
  return { clock, fleet, spec, attempts, start, current };
}

/** Histogram values are kept to 3 significant digits. */
function expectNear(actual: number, expected: number) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.001 + 0.001);
}

function histogram(report: ShardReport, field: "reconnect" | "outage" | "latency") {
  return summarizeEncoded([report[field]]);
}

describe("fleet reconnects", () => {
  it("backs off exponentially up to the cap, without jitter", async () => {
    // Ready, then after the break four failed attempts and a fifth that works.
    const { clock, fleet, attempts, start, current } = startFleet({
      script: (n) => (n >= 1 && n <= 4 ? "fail" : "ready"),
    });
    await start();
    const brokenAtMs = clock.now();
    current().drop();
    await clock.advance(20_000);
    const delays = attempts.slice(1).map((c) => c.createdAtMs - brokenAtMs);
    // 500, then 1000, 2000, 4000, and 4000 again (the cap), each after the one before.
    expect(delays).toEqual([500, 1500, 3500, 7500, 11_500]);
    expect(fleet.open).toBe(1);
    const report = fleet.report(0);
    expect(report.counters).toMatchObject({
      breaks: 1,
      reconnectAttempts: 5,
      failedReconnects: 4,
      connectFailures: 0,
      gaveUp: 0,
      neverReconnected: 0,
    });
    const reconnect = histogram(report, "reconnect");
    expect(reconnect.count).toBe(1);
    expectNear(reconnect.max, 11_500);
    fleet.close();
  });

  it("waits as a full server says (Retry-After, 1013), with jitter, instead of backing off", async () => {
    // Refused twice by a full server, then let in; a normal failure after a break backs off.
    const { clock, fleet, attempts, start } = startFleet({
      clients: 20,
      script: (n) => (n < 40 ? "full" : "ready"),
    });
    await start();
    await clock.advance(2 * FULL_RETRY_AFTER_MS * 1.25 + 1);
    expect(fleet.open).toBe(20);
    for (let i = 0; i < 20; i++) {
      const mine = attempts.filter((c) => c.options.user === `u${i}`).map((c) => c.createdAtMs);
      expect(mine).toHaveLength(3);
      for (let k = 1; k < 3; k++) {
        const waitMs = (mine[k] as number) - (mine[k - 1] as number);
        // Never sooner than told; up to ADMISSION_JITTER (25 %) later.
        expect(waitMs).toBeGreaterThanOrEqual(FULL_RETRY_AFTER_MS);
        expect(waitMs).toBeLessThanOrEqual(FULL_RETRY_AFTER_MS * 1.25);
      }
    }
    const spread = attempts.slice(20, 40).map((c) => c.createdAtMs);
    expect(new Set(spread).size).toBeGreaterThan(10);
    expect(fleet.report(0).counters).toMatchObject({
      connectFailures: 40,
      admissionWaits: 40,
      neverConnected: 0,
    });
    fleet.close();
  });

  it("counts every client a full server kept out as never connected", async () => {
    const { clock, fleet, start } = startFleet({ clients: 3, script: () => "full" });
    await start();
    await clock.advance(1000);
    expect(fleet.report(0).counters).toMatchObject({ neverConnected: 3, admissionWaits: 3 });
    fleet.close();
  });

  it("connects at once from the system's choice when its own source endpoint is refused", async () => {
    // Ready; after a break the endpoint is refused once (a closing socket holds it).
    const { clock, fleet, attempts, start, current } = startFleet({
      sources: true,
      script: (n) => (n === 1 ? "source refused" : "ready"),
    });
    await start();
    expect(attempts[0]?.options.source).toEqual({ address: "127.0.0.2", port: 10_000 });
    const brokenAtMs = clock.now();
    current().drop();
    await clock.advance(5_000);
    expect(attempts.map((c) => c.createdAtMs - brokenAtMs)).toEqual([0, 500, 500]);
    expect(attempts[2]?.options.source).toBeUndefined();
    expect(fleet.open).toBe(1);
    expect(fleet.report(0).counters).toMatchObject({
      breaks: 1,
      reconnectAttempts: 1,
      failedReconnects: 0,
      connectFailures: 0,
    });
    fleet.close();
  });

  it("starts from the server's retry advice when the policy honours it", async () => {
    const { clock, fleet, attempts, start, current } = startFleet({
      script: (n) => (n === 1 ? "fail" : "ready"),
    });
    await start();
    current().retryMs = 2000;
    const brokenAtMs = clock.now();
    current().drop();
    await clock.advance(10_000);
    expect(attempts.slice(1).map((c) => c.createdAtMs - brokenAtMs)).toEqual([2000, 6000]);
    fleet.close();
  });

  it("keeps jittered delays within their bounds and spreads them", async () => {
    for (const [jitter, lowMs] of [
      ["full", 0],
      ["equal", 250],
    ] as const) {
      const { clock, fleet, attempts, start } = startFleet({ clients: 200, reconnect: { jitter } });
      await start();
      const brokenAtMs = clock.now();
      for (const client of [...attempts]) client.drop();
      await clock.advance(600);
      const delays = attempts.slice(200).map((c) => c.createdAtMs - brokenAtMs);
      expect(delays).toHaveLength(200);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(lowMs);
      expect(Math.max(...delays)).toBeLessThanOrEqual(500);
      // Spread, not a herd: many distinct delays over the range.
      expect(new Set(delays).size).toBeGreaterThan(150);
      fleet.close();
    }
  });

  it("gives up after maxRetries failed attempts and reports the client as never reconnected", async () => {
    const { clock, fleet, attempts, start, current } = startFleet({
      reconnect: { maxRetries: 3 },
      script: (n) => (n === 0 ? "ready" : "fail"),
    });
    await start();
    current().drop();
    await clock.advance(120_000);
    expect(attempts).toHaveLength(4);
    expect(clock.pending).toBe(0); // no retry left
    expect(fleet.report(0).counters).toMatchObject({
      breaks: 1,
      reconnectAttempts: 3,
      failedReconnects: 3,
      gaveUp: 1,
      neverReconnected: 1,
    });
    fleet.close();
  });

  it("tries the next server after a failed connect, round the list", async () => {
    const urls = ["http://a", "http://b", "http://c"];
    const { clock, fleet, attempts, start } = startFleet({
      urls,
      script: (n) => (n < 3 ? "fail" : "ready"),
    });
    await start();
    await clock.advance(10_000);
    expect(attempts.map((c) => c.options.baseUrl)).toEqual([
      "http://a",
      "http://b",
      "http://c",
      "http://a",
    ]);
    // Failures before the first ready are connect failures, not failed reconnects.
    expect(fleet.report(0).counters).toMatchObject({
      connectFailures: 3,
      failedReconnects: 0,
      reconnectAttempts: 0,
    });
    expect(fleet.open).toBe(1);
    fleet.close();
  });

  it("resumes from the last message's cursor, or from now when the policy says so", async () => {
    for (const resume of [true, false]) {
      const { clock, fleet, start, current } = startFleet({ reconnect: { resume } });
      await start();
      current().receive("41", { seq: 1, sch: 0, snt: 0 });
      current().drop();
      await clock.advance(500);
      expect(current().options.since).toBe(resume ? "41" : undefined);
      fleet.close();
    }
  });
});

describe("fleet watchdog", () => {
  // Heartbeats every 1000 ms, watchdogIntervals 3: silence beyond 3000 ms is a dead connection.
  const LIMIT_MS = 3000;
  const watched = (setup: Setup = {}) =>
    startFleet({ ...setup, reconnect: { watchdogIntervals: 3, ...setup.reconnect } });

  it("breaks a silent stream but not one that hears from its server", async () => {
    const { clock, fleet, start, current } = watched({ clients: 2 });
    await start();
    const quiet = current("u0");
    const lively = current("u1");
    const silentFromMs = clock.now();
    for (let t = 0; t < LIMIT_MS + 2 * WATCHDOG_SCAN_MS; t += 100) {
      lively.receive();
      await clock.advance(100);
    }
    expect(quiet.closed).toBe(true);
    expect(lively.closed).toBe(false);
    const report = fleet.report(0);
    expect(report.counters).toMatchObject({ watchdogBreaks: 1, breaks: 1 });
    const [noticedAtMs] = report.breakLog[0] ?? [];
    const silenceMs = (noticedAtMs as number) - silentFromMs;
    expect(silenceMs).toBeGreaterThan(LIMIT_MS);
    expect(silenceMs).toBeLessThanOrEqual(LIMIT_MS + WATCHDOG_SCAN_MS);
    fleet.close();
  });

  it("does not count the time its own process was stopped as the server's silence", async () => {
    const { clock, fleet, start, current } = watched();
    await start();
    await clock.advance(1000);
    clock.freeze(10_000);
    await clock.advance(0);
    expect(current().closed).toBe(false);
    // From the resume on, silence counts again.
    await clock.advance(LIMIT_MS - WATCHDOG_SCAN_MS);
    expect(current().closed).toBe(false);
    await clock.advance(2 * WATCHDOG_SCAN_MS);
    expect(current().closed).toBe(true);
    expect(fleet.report(0).counters.watchdogBreaks).toBe(1);
    fleet.close();
  });

  it("treats a scan only a little late as on time", async () => {
    const { clock, fleet, start, current } = watched();
    await start();
    await clock.advance(LIMIT_MS - PAUSE_DETECT_MS);
    // Just under the pause rule: the silence keeps counting through it.
    clock.freeze(PAUSE_DETECT_MS - 1);
    await clock.advance(WATCHDOG_SCAN_MS);
    expect(current().closed).toBe(true);
    fleet.close();
  });

  it("leaves polling clients and clients that cannot see heartbeats alone", async () => {
    for (const setup of [
      { protocol: "long-poll" as const },
      { protocol: "sse" as const, reportsActivity: false },
    ]) {
      const { clock, fleet, start, current } = watched(setup);
      await start();
      await clock.advance(10 * LIMIT_MS);
      expect(current().closed).toBe(false);
      expect(fleet.report(0).counters.watchdogBreaks).toBe(0);
      fleet.close();
    }
  });

  it("is off when the policy sets no watchdog", async () => {
    const { clock, fleet, start } = watched({ reconnect: { watchdogIntervals: 0 } });
    await start();
    expect(clock.pending).toBe(0);
    expect(fleet.requestTimeoutMs).toBe(300_000);
    fleet.close();
  });
});

describe("fleet metrics", () => {
  it("records reconnect time from the break and outage from the last message before it", async () => {
    const { clock, fleet, start, current } = startFleet();
    await start();
    await clock.advance(1000);
    current().receive("1", { seq: 1, sch: clock.now(), snt: clock.now() });
    await clock.advance(1000);
    current().drop(); // reconnects after 500 ms
    await clock.advance(2000);
    current().receive("2", { seq: 2, sch: clock.now(), snt: clock.now() });
    const report = fleet.report(0);
    expectNear(histogram(report, "reconnect").max, 500);
    const outage = histogram(report, "outage");
    expect(outage.count).toBe(1);
    expectNear(outage.max, 3000);
    fleet.close();
  });

  it("counts an outage from the break when no message came before it", async () => {
    const { clock, fleet, start, current } = startFleet();
    await start();
    await clock.advance(1000);
    current().drop();
    await clock.advance(1500);
    current().receive("1", { seq: 1, sch: clock.now(), snt: clock.now() });
    expectNear(histogram(fleet.report(0), "outage").max, 1500);
    fleet.close();
  });

  it("counts duplicates, reordering and unstamped bodies; latency only inside the window", async () => {
    const { clock, fleet, spec, start, current } = startFleet();
    await start();
    await clock.advance(2000);
    const client = current();
    const stamp = (seq: number, schMs: number) => ({ seq, sch: schMs, snt: schMs });
    client.receive("1", stamp(1, spec.measureStartMs - 10)); // before the window: not timed
    client.receive("3", stamp(3, clock.now() - 5));
    client.receive("2", stamp(2, clock.now() - 7)); // after a higher id: reordered
    client.receive("3", stamp(3, clock.now() - 5)); // again: a duplicate, not reordered too
    client.receive("4", { hello: "not ours" });
    expect(fleet.received).toBe(5);
    const report = fleet.report(0);
    expect(report.counters).toMatchObject({ duplicates: 1, reordered: 1, unstamped: 1 });
    const latency = histogram(report, "latency");
    expect(latency.count).toBe(2);
    expectNear(latency.min, 5);
    expectNear(latency.max, 7);
    expect(report.subscribers[0]?.received).toEqual([[1, 3]]);
    fleet.close();
  });
});

describe("fleet fallback (clients.fallback)", () => {
  const fallback = { protocols: ["websocket", "sse", "long-poll"], stepTimeoutMs: 3000 };
  const fallbackCounts = (report: ShardReport) => report.measures.fallback?.counts ?? {};

  it("goes straight on to the next transport when a step is refused, or shows no sign of life", async () => {
    // WebSocket refused (a proxy's 403), SSE swallowed (no answer), long polling answers.
    const { clock, fleet, attempts, start } = startFleet({
      fallback,
      script: (_n, _url, protocol) =>
        protocol === "websocket" ? "fail" : protocol === "sse" ? "hang" : "ready",
    });
    await start();
    expect(attempts.map((c) => c.protocol)).toEqual(["websocket", "sse"]);
    await clock.advance(2999);
    expect(fleet.open).toBe(0);
    await clock.advance(1);
    // The hung step is closed at its timeout and the next starts at once, with its own settings.
    expect(attempts.map((c) => [c.protocol, c.createdAtMs - clock.now()])).toEqual([
      ["websocket", -3000],
      ["sse", -3000],
      ["long-poll", 0],
    ]);
    expect(attempts[1]?.closed).toBe(true);
    expect(attempts[2]?.options.settings).toEqual({ protocol: "long-poll" });
    expect(fleet.open).toBe(1);
    const report = fleet.report(0);
    expect(fallbackCounts(report)).toMatchObject({
      "failed:websocket": 1,
      "timed-out:sse": 1,
      "ready:long-poll": 1,
      "ready:websocket": 0,
    });
    // Steps of a fallback are not connect failures: the client got in.
    expect(report.counters).toMatchObject({ connectFailures: 0, neverConnected: 0 });
    expect(report.subscribers[0]?.fallbackStartMs).toBe(attempts[0]?.createdAtMs);
    fleet.close();
  });

  it("times the first message from the first attempt, and reconnects on the transport it ended on", async () => {
    const { clock, fleet, attempts, start, current } = startFleet({
      fallback,
      script: (_n, _url, protocol) => (protocol === "websocket" ? "fail" : "ready"),
    });
    await start();
    await clock.advance(250);
    current().receive("1", { seq: 1 });
    current().drop();
    await clock.advance(POLICY.initialDelayMs);
    expect(attempts.map((c) => c.protocol)).toEqual(["websocket", "sse", "sse"]);
    const report = fleet.report(0);
    expectNear(
      summarizeEncoded([report.measures.fallback?.timings["first-message"] ?? ""]).max,
      250,
    );
    expect(fallbackCounts(report)).toMatchObject({ "ready:sse": 1, "failed:websocket": 1 });
    fleet.close();
  });

  it("starts the ladder again, after its backoff, when every step failed", async () => {
    const { clock, fleet, attempts, start } = startFleet({
      fallback,
      script: (n) => (n < 3 ? "fail" : "ready"),
    });
    await start();
    expect(attempts.map((c) => c.protocol)).toEqual(["websocket", "sse", "long-poll"]);
    await clock.advance(POLICY.maxDelayMs);
    expect(attempts.map((c) => c.protocol)).toEqual(["websocket", "sse", "long-poll", "websocket"]);
    expect(fleet.open).toBe(1);
    expect(fleet.report(0).counters).toMatchObject({ connectFailures: 1 });
    fleet.close();
  });
});
