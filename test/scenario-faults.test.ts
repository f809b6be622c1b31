import { describe, expect, it } from "vitest";
import { parseScenario } from "../src/scenario/load.js";
import { DEFAULT_RECONNECT } from "../src/scenario/reconnect.js";
import { problemsOf } from "./helpers/scenario-problems.js";

const TWO_INSTANCES = "server: { instances: 2, broker: redis }\nclients: { rampUp: 5s }\n";

describe("faults", () => {
  it("reads every action, applies defaults and sorts by at", () => {
    const scenario = parseScenario(
      `${TWO_INSTANCES}duration: 60s
drain: 5s
faults:
  - { at: 60s, action: redis-restart, for: 3s }
  - { at: 20s, action: kill, instance: 1, restartAfter: 5s }
  - { at: 30s, action: restart, instance: 0 }
  - { at: 40s, action: drop, fraction: 0.5 }
  - { at: 45s, action: drop, instance: random }
  - { at: 50s, action: stall, instance: random, for: 10s }
  - { at: 25s, action: kill, instance: 0 }
`,
      "faults.yaml",
    );
    expect(scenario.faults).toEqual([
      { action: "kill", atMs: 20_000, instance: 1, restartAfterMs: 5_000 },
      { action: "kill", atMs: 25_000, instance: 0, restartAfterMs: null },
      { action: "restart", atMs: 30_000, instance: 0 },
      { action: "drop", atMs: 40_000, fraction: 0.5, instance: "all" },
      { action: "drop", atMs: 45_000, fraction: 1, instance: "random" },
      { action: "stall", atMs: 50_000, instance: "random", forMs: 10_000 },
      { action: "redis-restart", atMs: 60_000, forMs: 3_000 },
    ]);
  });

  it("has no faults by default", () => {
    expect(parseScenario("{}", "empty.yaml").faults).toEqual([]);
  });

  it("accepts a fault at the very end of ramp-up + duration + drain, not after", () => {
    const base = "clients: { rampUp: 5s }\nduration: 20s\ndrain: 5s\nfaults:\n";
    const atEnd = parseScenario(`${base}  - { at: 30s, action: drop }`, "end.yaml");
    expect(atEnd.faults).toHaveLength(1);
    expect(problemsOf(`${base}  - { at: 30001ms, action: drop }`)).toEqual([
      'faults[0].at: expected at most clients.rampUp + duration + drain (30s), the end of the run, found "30001ms"',
    ]);
  });

  // [what, fault (YAML flow mapping), the expected problem line]
  const CASES: [string, string, string][] = [
    [
      "unknown action",
      "{ at: 1s, action: explode }",
      'faults[0].action: expected one of kill, restart, drop, stall, redis-restart, stall-clients, broker-freeze, broker-stop, broker-restart, flap, found "explode"',
    ],
    [
      "instance out of range",
      "{ at: 1s, action: kill, instance: 2 }",
      "faults[0].instance: expected an index from 0 to 1 (server.instances is 2) or random, found 2",
    ],
    [
      "instance as a word other than random",
      "{ at: 1s, action: stall, instance: first, for: 1s }",
      'faults[0].instance: expected a non-negative integer or one of random, all, found "first"',
    ],
    [
      "all on a kill",
      "{ at: 1s, action: kill, instance: all }",
      'faults[0].instance: expected an index from 0 to 1 (server.instances is 2) or random, found "all"',
    ],
    [
      "kill without instance",
      "{ at: 1s, action: kill }",
      "faults[0].instance: expected an index from 0 to 1 (server.instances is 2) or random, found nothing",
    ],
    [
      "fraction 0",
      "{ at: 1s, action: drop, fraction: 0 }",
      "faults[0].fraction: expected a number above 0 and at most 1, found 0",
    ],
    [
      "fraction above 1",
      "{ at: 1s, action: drop, fraction: 1.5 }",
      "faults[0].fraction: expected a number from 0 to 1, found 1.5",
    ],
    [
      "stall without for",
      "{ at: 1s, action: stall, instance: 0 }",
      "faults[0].for: expected a duration like 500ms, 30s or 2m (how long it lasts), found nothing",
    ],
    [
      "redis-restart without for",
      "{ at: 1s, action: redis-restart }",
      "faults[0].for: expected a duration like 500ms, 30s or 2m (how long it lasts), found nothing",
    ],
    [
      "stall for 0",
      "{ at: 1s, action: stall, instance: 0, for: 0 }",
      "faults[0].for: expected a duration above 0, found 0",
    ],
    [
      "missing at",
      "{ action: restart, instance: 0 }",
      "faults[0].at: expected a duration like 500ms, 30s or 2m from the start of ramp-up, found nothing",
    ],
    [
      "missing action",
      "{ at: 1s }",
      "faults[0].action: expected one of kill, restart, drop, stall, redis-restart, stall-clients, broker-freeze, broker-stop, broker-restart, flap, found nothing",
    ],
    [
      "a field another action takes",
      "{ at: 1s, action: drop, for: 2s }",
      "faults[0].for: unknown field for action drop (allowed: at, action, instance, fraction)",
    ],
    [
      "restartAfter on a restart",
      "{ at: 1s, action: restart, instance: 0, restartAfter: 1s }",
      "faults[0].restartAfter: unknown field for action restart (allowed: at, action, instance)",
    ],
    [
      "a field no action takes",
      "{ at: 1s, action: kill, instance: 0, signal: 9 }",
      "faults[0].signal: unknown field (allowed here: at, action, instance, restartAfter, fraction, for, every, offlineFor, jitter)",
    ],
    [
      "at not a duration",
      "{ at: 20, action: drop }",
      "faults[0].at: expected a duration like 500ms, 30s or 2m, found 20",
    ],
  ];
  it.each(CASES)("rejects %s", (_what, fault, expected) => {
    expect(problemsOf(`${TWO_INSTANCES}faults:\n  - ${fault}\n`)).toEqual([expected]);
  });

  it("rejects redis-restart without broker: redis", () => {
    expect(problemsOf("faults: [{ at: 1s, action: redis-restart, for: 1s }]")).toEqual([
      'faults[0].action: expected server.broker: redis for redis-restart (the memory broker has no Redis to restart), found broker "memory"',
    ]);
  });

  it("takes the broker faults on a broker with a service, and rejects them on memory", () => {
    const faults =
      "faults: [{ at: 1s, action: broker-freeze, for: 2s }, { at: 4s, action: broker-stop, for: 1s }, { at: 6s, action: broker-restart }]";
    expect(
      parseScenario(`server: { instances: 2, broker: nats }\n${faults}\n`, "f.yaml").faults,
    ).toEqual([
      { action: "broker-freeze", atMs: 1000, forMs: 2000 },
      { action: "broker-stop", atMs: 4000, forMs: 1000 },
      { action: "broker-restart", atMs: 6000 },
    ]);
    expect(problemsOf("faults: [{ at: 1s, action: broker-freeze, for: 1s }]")).toEqual([
      'faults[0].action: expected a server.broker with a backing service (redis, redis-sharded, redis-streams, nats) for broker-freeze, found broker "memory" (nothing outside the server to freeze)',
    ]);
    expect(
      problemsOf("server: { broker: redis }\nfaults: [{ at: 1s, action: broker-stop }]"),
    ).toEqual([
      "faults[0].for: expected a duration like 500ms, 30s or 2m (how long it lasts), found nothing",
    ]);
  });

  it("rejects faults against a target it did not start", () => {
    expect(problemsOf("target: http://127.0.0.1:8080\nfaults: [{ at: 1s, action: drop }]")).toEqual(
      [
        "faults: expected no faults when target has no command (rtbench cannot kill, stall or drop a server it did not start), found 1",
      ],
    );
  });

  it("reports every bad fault at once", () => {
    const lines = problemsOf(
      `${TWO_INSTANCES}faults:
  - { at: 1s, action: kill, instance: 5 }
  - { at: 1s, action: drop }
  - { at: 1s, action: stall, instance: 0 }
`,
    );
    expect(lines).toEqual([
      "faults[0].instance: expected an index from 0 to 1 (server.instances is 2) or random, found 5",
      "faults[2].for: expected a duration like 500ms, 30s or 2m (how long it lasts), found nothing",
    ]);
  });
});

describe("reconnect policy", () => {
  it("defaults every protocol to the documented policy", () => {
    const scenario = parseScenario("{}", "empty.yaml");
    expect(scenario.reconnect).toEqual({
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      multiplier: 2,
      jitter: "full",
      maxRetries: 20,
      resume: true,
      watchdogIntervals: 3,
      honorServerRetry: true,
    });
    expect(scenario.reconnect).toEqual(DEFAULT_RECONNECT);
    for (const section of Object.values(scenario.transports)) {
      expect(section.reconnect).toEqual(DEFAULT_RECONNECT);
    }
  });

  it("reads the top-level policy and merges per-protocol overrides over it", () => {
    const scenario = parseScenario(
      `reconnect: { initialDelay: 200ms, maxDelay: 5s, multiplier: 1.5, jitter: equal, maxRetries: 3, resume: false, watchdog: 0, honorServerRetry: false }
websocket: { reconnect: { jitter: none } }
sse: { client: eventsource, reconnect: { honorServerRetry: true, resume: true } }
`,
      "policy.yaml",
    );
    const top = {
      initialDelayMs: 200,
      maxDelayMs: 5_000,
      multiplier: 1.5,
      jitter: "equal",
      maxRetries: 3,
      resume: false,
      watchdogIntervals: 0,
      honorServerRetry: false,
    };
    expect(scenario.reconnect).toEqual(top);
    const { transports } = scenario;
    expect(transports["short-poll"]?.reconnect).toEqual(top);
    expect(transports["long-poll"]?.reconnect).toEqual(top);
    expect(transports["sse-h2"]?.reconnect).toEqual(top);
    expect(transports.websocket?.reconnect).toEqual({ ...top, jitter: "none" });
    expect(transports.sse?.reconnect).toEqual({ ...top, honorServerRetry: true, resume: true });
    expect(transports.sse?.settings).toEqual({ client: "eventsource" });
  });

  it("rejects bad values with one line each", () => {
    expect(
      problemsOf(
        `reconnect: { initialDelay: 5s, maxDelay: 1s, jitter: some, retries: 3 }
longPoll: { reconnect: { maxDelay: 100ms } }
`,
      ),
    ).toEqual([
      "reconnect.retries: unknown field; did you mean reconnect.maxRetries? (allowed here: initialDelay, maxDelay, multiplier, jitter, maxRetries, resume, watchdog, honorServerRetry)",
      'reconnect.jitter: expected one of none, full, equal, found "some"',
      'reconnect.maxDelay: expected at least initialDelay (5s), found "1s"',
      'longPoll.reconnect.maxDelay: expected at least initialDelay (5s), found "100ms"',
    ]);
  });

  it("rejects a zero initial delay and a multiplier below 1", () => {
    expect(problemsOf("reconnect: { initialDelay: 0, multiplier: 0.5 }")).toEqual([
      "reconnect.multiplier: expected a number from 1 to 10, found 0.5",
      'reconnect.initialDelay: expected a duration above 0 (a zero delay never grows: clients would retry in a busy loop), found "0"',
    ]);
  });
});
