import { describe, expect, it } from "vitest";
import { evaluateThresholds } from "../src/gate/thresholds.js";
import { UnreadCheck } from "../src/load/fleet/unread-check.js";
import { churnWaves, pickLeavers } from "../src/load/shards/churn.js";
import { imbalanceOf } from "../src/measures/instance-spread.js";
import { getMetric, listMetrics } from "../src/measures/names.js";
import { auditPresence, withoutFreezes } from "../src/measures/presence-audit.js";
import { orderRunKeys, runKey, runLabel, splitRunKey } from "../src/metrics/run-keys.js";
import { renderTable } from "../src/report/table.js";
import { parseScenario } from "../src/scenario/load.js";
import { parseCommandStats } from "../src/services/redis.js";
import type { RtbenchError } from "../src/shared/errors.js";
import { seededRandom } from "../src/util/random.js";
import { makeProtocolResult, makeResult } from "./helpers/result-fixture.js";

/** The pure parts of the architecture measurements, against tables of cases. */

function problems(yaml: string): string[] {
  try {
    parseScenario(yaml, "s.yaml");
    return [];
  } catch (error) {
    return (error as RtbenchError).details ?? [(error as Error).message];
  }
}

describe("scenario: variants, skew, members, churn", () => {
  it("runs each variant's server section over the top-level one", () => {
    const scenario = parseScenario(
      `
protocols: [websocket]
server: { instances: 3, broker: redis, heartbeatInterval: 2s }
variants:
  - { name: pubsub }
  - { name: sticky, server: { routing: sticky, history: { maxCount: 5 } } }
clients: { channelSkew: zipf(1.2), members: 500, churn: { every: 10s, offlineFor: 4s, fraction: 0.25 } }
`,
      "v.yaml",
    );
    expect(scenario.variants.map((v) => [v.name, v.server.routing])).toEqual([
      ["pubsub", "pubsub"],
      ["sticky", "sticky"],
    ]);
    const sticky = scenario.variants[1]?.server;
    expect(sticky).toMatchObject({ instances: 3, heartbeatIntervalMs: 2000 });
    expect(sticky?.history).toEqual({ maxCount: 5, maxAgeMs: 300_000 });
    expect(scenario.clients.channelSkew).toEqual({ kind: "zipf", exponent: 1.2 });
    expect(scenario.clients.churn).toEqual({ everyMs: 10_000, offlineForMs: 4000, fraction: 0.25 });
  });

  it.each([
    [
      "memory broker with 2 pubsub instances, in one variant",
      "server: { instances: 2 }\nvariants: [{ name: a, server: { routing: sticky } }, { name: b }]",
      "variants[1].server.broker: expected a broker shared between instances",
    ],
    [
      "a variant name twice",
      "variants: [{ name: a }, { name: a }]",
      "variants[1].name: expected each variant name once",
    ],
    [
      "a bad variant name",
      "variants: [{ name: Sticky }]",
      "variants[0].name: expected lower-case words with dashes",
    ],
    [
      "tiered fan-out with SSE",
      "protocols: [sse, websocket]\nserver: { fanout: tiered }",
      "server.fanout: expected protocols to be websocket only with fanout tiered",
    ],
    [
      "weights that do not match the channels",
      "clients: { channels: 3, channelSkew: [1, 2] }",
      "clients.channelSkew: expected one weight per channel (clients.channels is 3), found 2",
    ],
    ["a bad skew", "clients: { channelSkew: zipf }", "clients.channelSkew: expected"],
    [
      "fewer members than clients",
      "clients: { count: 10, channels: 2, members: 5 }",
      "clients.members: expected 0 or at least clients.count (10)",
    ],
    [
      "churn away for the whole window",
      "duration: 10s\nwarmup: 2s\nclients: { churn: { every: 5s, offlineFor: 8s, fraction: 0.5 } }",
      "clients.churn.offlineFor: expected less than the measured window",
    ],
    [
      "a threshold on a variant that does not exist",
      'variants: [{ name: a }]\nthresholds: { "websocket@b.lost": "== 0" }',
      'thresholds["websocket@b.lost"]: unknown variant "b"; expected one of a',
    ],
  ])("rejects %s", (_what, yaml, expected) => {
    expect(problems(yaml).some((line) => line.startsWith(expected))).toBe(true);
  });

  it("accepts sticky routing over memory brokers (instances share nothing)", () => {
    expect(problems("server: { instances: 3, routing: sticky }")).toEqual([]);
  });
});

describe("run keys: protocol@variant in results, metrics, thresholds and tables", () => {
  const result = makeResult({
    protocols: {
      "websocket@sticky": { overrides: { lost: 3 } },
      sse: {},
      "websocket@pubsub": {},
    },
  });

  it("splits, orders and labels keys", () => {
    expect(splitRunKey(runKey("websocket", "sticky"))).toEqual({
      protocol: "websocket",
      variant: "sticky",
    });
    expect(orderRunKeys(Object.keys(result.protocols))).toEqual([
      "sse",
      "websocket@sticky",
      "websocket@pubsub",
    ]);
    expect(runLabel("websocket@sticky")).toBe("WebSocket @sticky");
  });

  it("names a variant's metric and checks thresholds on it, a bare protocol covering its variants", () => {
    expect(getMetric(result, "websocket@sticky.lost")).toBe(3);
    const outcomes = evaluateThresholds({ "websocket.lost": "== 0" }, result);
    expect(outcomes.map((o) => [o.metric, o.pass])).toEqual([
      ["websocket@sticky.lost", false],
      ["websocket@pubsub.lost", true],
    ]);
    const paths = listMetrics().map((m) => m.path);
    for (const path of [
      "imbalance.connections",
      "broker.operationsPerMessage",
      "unreadMismatches",
      "catchUp.p99",
      "presence.ghostShare",
      "presence.staleness.max",
      "presenceEventLatency.p99",
    ]) {
      expect(paths, path).toContain(path);
    }
  });

  it("puts the variant under the transport in the table heading", () => {
    const table = renderTable(result);
    const [head, second] = table.split("\n").slice(1, 3);
    expect(head).toMatch(/SSE\s+WebSocket\s+WebSocket$/);
    expect(second).toMatch(/@sticky\s+@pubsub$/);
  });

  it("shows per-instance shares and imbalance for a sticky run", () => {
    const sticky = makeProtocolResult("websocket", {
      overrides: {
        server: {
          cpuSecondsPer1kDeliveries: null,
          rssBytesPerConnection: null,
          settings: {
            instanceId: "0",
            broker: "redis",
            heartbeatIntervalMs: 1000,
            presenceTtlMs: 3000,
            history: null,
            maxBodyBytes: 65536,
            deliveryDelayMs: 0,
            routing: "sticky",
            fanout: "write",
            presenceEvents: false,
            presenceBatchMs: 1000,
          },
        },
        instances: { connections: [60, 20, 20], deliveries: [6, 2, 2], cpuSeconds: [3, 1, null] },
        imbalance: { connections: 1.8, deliveries: 1.8, cpuSeconds: null },
      },
    });
    const table = renderTable(
      makeResult({ protocols: {}, overrides: { protocols: { "websocket@sticky": sticky } } }),
    );
    expect(table).toMatch(/clients % per instance\s+60\/20\/20/);
    expect(table).toMatch(/imbalance clients max\/mean\s+1\.8/);
    expect(table).toMatch(/CPU % per instance\s+n\/a/);
  });
});

describe("pure measurement parts", () => {
  it("imbalance is max over mean, undefined with one instance or a missing value", () => {
    expect(imbalanceOf([10, 10, 10])).toBe(1);
    expect(imbalanceOf([30, 0, 0])).toBe(3);
    expect(imbalanceOf([5])).toBeNull();
    expect(imbalanceOf([5, null])).toBeNull();
    expect(imbalanceOf([0, 0])).toBeNull();
  });

  it("reads Redis command counts, leaving out rtbench's own", () => {
    const info =
      "# Commandstats\r\ncmdstat_hincrby:calls=120,usec=53\r\ncmdstat_evalsha:calls=4,usec=1\r\ncmdstat_info:calls=9,usec=1\r\n";
    expect(parseCommandStats(info)).toEqual({ hincrby: 120, evalsha: 4 });
  });

  it("plans churn waves that are back before the window ends, and picks a seeded fraction", () => {
    expect(
      churnWaves({ startMs: 0, endMs: 10_000, everyMs: 3000, offlineForMs: 2000, fraction: 0.5 }),
    ).toEqual([0, 3000, 6000]);
    const pool = Array.from({ length: 10 }, (_, i) => i);
    const picked = pickLeavers(pool, 0.3, seededRandom(3));
    expect(picked).toHaveLength(3);
    expect(new Set(picked).size).toBe(3);
    expect(pickLeavers(pool, 0.3, seededRandom(3))).toEqual(picked);
  });

  it("checks an unread count against the missed ids that arrive", () => {
    const check = new UnreadCheck(3, 10, 7);
    expect(check.see(7)).toBe(false);
    expect(check.see(8)).toBe(false);
    expect(check.see(9)).toBe(false);
    expect(check.see(10)).toBe(true);
    expect(check.matches).toBe(true);
    const short = new UnreadCheck(3, 10, 8);
    short.see(9);
    short.see(10);
    expect(short.matches).toBe(false);
    expect(new UnreadCheck(0, 5, 5).complete).toBe(true);
  });

  it("audits presence samples: ghosts, missing users and staleness", () => {
    const sample = (startMs: number, users: string[]) => ({
      channel: "c",
      startMs,
      endMs: startMs + 10,
      users,
    });
    const audit = auditPresence({
      connections: [
        { user: "a", channel: "c", spans: [[0, 1000]] },
        { user: "b", channel: "c", spans: [[0, null]] },
        {
          user: "z",
          channel: "c",
          spans: [
            [0, 500],
            [700, null],
          ],
        },
      ],
      samples: [
        sample(900, ["a", "b", "z"]),
        sample(1100, ["a", "b", "z"]), // a left at 1000: a ghost
        sample(1300, ["b", "z"]), // a gone: stale 300 ms
        sample(1500, ["z"]), // b connected, not listed: missing
      ],
      freezes: [],
      graceMs: 100,
    });
    expect(audit).toMatchObject({ samples: 4, ghosts: 1, missing: 1, listed: 9, connected: 9 });
    expect(audit.stalenessMs).toEqual([300]);
    // z left at 500 and came back at 700 before a sample saw it gone.
    expect(audit.censored).toBe(1);
    expect(withoutFreezes([[0, null]], [[100, 200]])).toEqual([
      [0, 100],
      [200, Number.POSITIVE_INFINITY],
    ]);
  });
});
