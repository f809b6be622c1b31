import { describe, expect, it } from "vitest";
import { judgeSaturation, type SaturationEvidence } from "../src/load/result/saturation.js";
import type { ProcessLoad } from "../src/metrics/process-load.js";
import { parseScenario } from "../src/scenario/load.js";

/** Who saturated, as a pure judgement: evidence in, two verdicts with reasons out. */
const { generator, saturation } = parseScenario("name: limits\n", "limits.yaml");

function load(
  role: ProcessLoad["role"],
  name: string,
  cpuShare: number,
  elu: number | null = null,
) {
  return { role, name, cpuShare, peakCpuShare: cpuShare, eventLoopUtilization: elu, perSecond: [] };
}

const healthy: SaturationEvidence = {
  generator,
  saturation,
  processes: [
    load("publisher", "rtbench (publisher)", 0.1, 0.1),
    load("shard", "shard 0", 0.3, 0.4),
    load("server", "server instance 0", 0.4),
  ],
  eventLoopDelayP99Ms: 10,
  publisherLagMs: 1,
  missingShards: [],
  latencyThirds: { firstMs: 5, lastMs: 6 },
  hadFaults: false,
  acks: { late: 0, unanswered: 0, storedUnacknowledged: 0 },
  ackTimeoutMs: 5000,
  slotWaitMs: 0,
  maxInFlight: 1000,
};

const withProcess = (p: ProcessLoad) => ({
  processes: healthy.processes.map((q) => (q.name === p.name ? p : q)),
});

const CASES: [
  string,
  Partial<SaturationEvidence>,
  { generator: RegExp | null; server: RegExp | null },
][] = [
  ["healthy: neither", {}, { generator: null, server: null }],
  [
    "a shard near a full core",
    withProcess(load("shard", "shard 0", 0.95, 0.5)),
    { generator: /shard 0 at 95% CPU \(limit 90%\)/, server: null },
  ],
  [
    "a shard whose loop is never idle (starved of CPU by others)",
    withProcess(load("shard", "shard 0", 0.4, 0.96)),
    { generator: /shard 0 event loop busy 96% of the time/, server: null },
  ],
  [
    "loop delay over the limit",
    { eventLoopDelayP99Ms: 120 },
    { generator: /event-loop delay p99 120 ms \(limit 50\.0 ms\)/, server: null },
  ],
  [
    "the publisher late with a slot free",
    { publisherLagMs: 80 },
    { generator: /publisher 80\.0 ms behind schedule with a slot free/, server: null },
  ],
  [
    "a shard killed under load",
    { missingShards: [{ name: "shard 1", reason: "died (killed by SIGKILL)", crashed: false }] },
    { generator: /shard 1 died \(killed by SIGKILL\); its clients are missing/, server: null },
  ],
  [
    "a shard that crashed on its own error (the run is invalid, the generator not the limit)",
    {
      missingShards: [
        { name: "shard 1", reason: "died (exit code 1): TypeError: bad URL", crashed: true },
      ],
    },
    { generator: null, server: null },
  ],
  [
    "a server near a full core",
    withProcess(load("server", "server instance 0", 0.99)),
    { generator: null, server: /server instance 0 at 99% CPU \(limit 90%\)/ },
  ],
  [
    "server CPU counts even when the generator saturated too",
    {
      ...withProcess(load("server", "server instance 0", 0.99)),
      eventLoopDelayP99Ms: 200,
    },
    { generator: /event-loop delay/, server: /server instance 0 at 99% CPU/ },
  ],
  [
    "latency rising while rtbench has headroom",
    { latencyThirds: { firstMs: 20, lastMs: 3600 } },
    { generator: null, server: /latency rose from 20\.0 ms to 3\.60 s/ },
  ],
  [
    "latency rising, but by less than the factor",
    { latencyThirds: { firstMs: 500, lastMs: 650 } },
    { generator: null, server: null },
  ],
  [
    "latency rising while the generator saturated: not blamed on the server",
    { latencyThirds: { firstMs: 20, lastMs: 3600 }, eventLoopDelayP99Ms: 200 },
    { generator: /event-loop delay/, server: null },
  ],
  [
    "latency rising across a fault: not saturation",
    { latencyThirds: { firstMs: 20, lastMs: 3600 }, hadFaults: true },
    { generator: null, server: null },
  ],
  [
    "acknowledgements late, and some never",
    { acks: { late: 19, unanswered: 11, storedUnacknowledged: 11 } },
    {
      generator: null,
      server:
        /19 publishes acknowledged late \(after 5\.00 s\)\n11 publishes never acknowledged; 11 unacknowledged messages were delivered/,
    },
  ],
  [
    "every publish slot waited for answers",
    { slotWaitMs: 900 },
    { generator: null, server: /all 1000 publish slots waited .* 900 ms behind schedule/ },
  ],
];

describe("judgeSaturation", () => {
  for (const [name, change, expected] of CASES) {
    it(name, () => {
      const verdicts = judgeSaturation({ ...healthy, ...change });
      for (const side of ["generator", "server"] as const) {
        const want = expected[side];
        expect(verdicts[side].saturated, side).toBe(want !== null);
        if (want !== null) expect(verdicts[side].reasons.join("\n"), side).toMatch(want);
        else expect(verdicts[side].reasons, side).toEqual([]);
      }
    });
  }
});
