import { describe, expect, it } from "vitest";
import {
  MAX_CLIENTS_PER_SHARD,
  planShards,
  type ShardPlanInput,
} from "../src/load/shards/shard-plan.js";
import { planFor } from "../src/load/stages/clients-up.js";
import { parseScenario } from "../src/scenario/load.js";

/** Shards sized by the work they do, and a machine that cannot hold a run said so up front. */
const base: ShardPlanInput = {
  clients: 1000,
  deliveriesPerSec: 0,
  requestsPerSec: 0,
  cores: 2,
  serverInstances: 1,
  requestedShards: 0,
};

const CASES: [string, Partial<ShardPlanInput>, { shards: number; warns: boolean }][] = [
  [
    "a quiet run: one shard, nothing to say",
    { deliveriesPerSec: 2000 },
    { shards: 1, warns: false },
  ],
  // 25k deliveries/s is 0.6 core of client work: still one shard.
  ["a shard's worth of deliveries", { deliveriesPerSec: 25_000 }, { shards: 1, warns: false }],
  // 1,000 clients at 50 msg/s on one channel: 50k deliveries/s, 1.2 cores: two shards.
  [
    "the issue's 1,000 clients at 50 msg/s",
    { deliveriesPerSec: 50_000 },
    { shards: 2, warns: true },
  ],
  ["polls weigh more than deliveries", { requestsPerSec: 12_000 }, { shards: 2, warns: true }],
  [
    "never more shards by work than cores: the rest is said",
    { deliveriesPerSec: 200_000, cores: 2 },
    { shards: 2, warns: true },
  ],
  [
    "connections decide when they need more processes than the work does",
    { clients: 50_000, deliveriesPerSec: 50_000, cores: 8 },
    { shards: Math.ceil(50_000 / MAX_CLIENTS_PER_SHARD), warns: false },
  ],
  [
    "an explicit clients.shards wins, and an overloaded plan is still said",
    { requestedShards: 1, deliveriesPerSec: 60_000 },
    { shards: 1, warns: true },
  ],
  [
    "a target's cost is not planned: only the clients count",
    { serverInstances: 0, deliveriesPerSec: 25_000 },
    { shards: 1, warns: false },
  ],
];

describe("planShards", () => {
  for (const [name, input, expected] of CASES) {
    it(name, () => {
      const plan = planShards({ ...base, ...input });
      expect(plan.shards).toBe(expected.shards);
      expect(plan.warning !== null, plan.warning ?? "no warning").toBe(expected.warns);
      if (plan.warning) expect(plan.warning).toMatch(/^this machine cannot hold the work: /);
    });
  }

  it("counts busy processes, and warns when there are more than cores", () => {
    const plan = planShards({ ...base, cores: 4, serverInstances: 3, deliveriesPerSec: 60_000 });
    // 1.44 cores of client work over 3 shards, 1.08 of server work over 3 instances.
    expect(plan).toMatchObject({ shards: 3, busyProcesses: 6 });
    expect(plan.warning).toContain("6 busy processes on 4 cores");
  });
});

describe("planFor: the expected work of a scenario, from the transport rows", () => {
  const scenario = parseScenario(
    `
clients: { count: 1000, channels: 10 }
publish: { rate: 100/s }
shortPoll: { interval: 250ms }
longPoll: { timeout: 10s }
`,
    "plan.yaml",
  );
  it("streams: deliveries only; short polls: clients / interval; long polls: messages plus holds", () => {
    const cores = (p: string) => planFor(scenario, p).clientCores;
    // 100/s over 10 channels, 100 subscribers each: 10,000 deliveries/s.
    expect(cores("websocket")).toBeCloseTo(10_000 * 24e-6, 6);
    expect(cores("short-poll")).toBeCloseTo(10_000 * 24e-6 + 4000 * 70e-6, 6);
    expect(cores("long-poll")).toBeCloseTo(10_000 * 24e-6 + (10_000 + 100) * 70e-6, 6);
  });
});
