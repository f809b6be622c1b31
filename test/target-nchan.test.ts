import { join } from "node:path";
import { expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import { startCommandedServers } from "../src/load/servers/commanded.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import type { TargetCommand } from "../src/scenario/types.js";
import { loadNchanModule } from "../src/targets/nchan.js";
import { packageRoot } from "../src/util/paths.js";
import { leftoverProcesses, ownScratchRoot } from "./helpers/leftovers.js";
import { describeNchan } from "./helpers/nchan.js";
import { itRedis } from "./helpers/redis.js";
import { expectEverythingDelivered } from "./helpers/targets.js";

/**
 * A real Nchan: nginx started by rtbench from the scenario's command with
 * the example config, measured over every transport Nchan offers.
 */
const EXAMPLES = join(packageRoot, "examples", "targets");

function nchanScenario(conf: string, extra: string) {
  return parseScenario(
    `
name: nchan-test
target:
  protocol: nchan
  command: "nginx -c {dir}/${conf} -p {dir}/ -e {dir}/error.log"
  files: [${join(EXAMPLES, conf)}]
  health: /healthz
  heartbeatInterval: 5s
clients: { count: 20, channels: 2, rampUp: 300ms, shards: 1 }
publish: { rate: 20/s }
${extra}
`,
    "nchan-test.yaml",
  );
}

/** Where this file's runs make their scratch directories (see helpers/leftovers.ts). */
const scratchRoot = ownScratchRoot("rtbench-nchan-test-");

/** nginx processes of this file's targets still alive. */
function leftoverNginx(): string[] {
  return leftoverProcesses(/nginx.*rtbench-target-/, scratchRoot);
}

describeNchan("protocol nchan against a real nginx + Nchan", () => {
  it("delivers everything over long polls, EventSource and WebSocket, and samples nginx's cost", async () => {
    const result = await runScenario(
      nchanScenario("nchan.conf", "duration: 2500ms\nwarmup: 500ms\ndrain: 1500ms"),
    );
    expect(Object.keys(result.protocols)).toEqual(["long-poll", "sse", "websocket"]);
    expect(result.setup.targetCommand).toMatch(/^nginx -c \{dir\}\/nchan.conf/);
    // CPU: nginx's master and worker, read from /proc.
    expectEverythingDelivered(result, { clients: 20, perChannel: 10, minPublished: 35 });
    // One long poll per message: Nchan answers each with one message.
    expect(result.protocols["long-poll"]?.requestsPerDelivery).toBeGreaterThanOrEqual(0.9);
    expect(leftoverNginx()).toEqual([]);
  }, 90_000);

  it("sees its own nginx while it runs, and nothing once it is stopped", async () => {
    // The leftover check the runs above and below end with is not vacuous.
    const command = nchanScenario("nchan.conf", "").target?.command as TargetCommand;
    const servers = await startCommandedServers({
      command,
      placeholders: { loadNchanModule: loadNchanModule() },
      log: () => {},
    });
    try {
      expect(leftoverNginx().length).toBeGreaterThan(0);
    } finally {
      await servers.stop();
    }
    expect(leftoverNginx()).toEqual([]);
  }, 30_000);

  itRedis(
    "resumes across a kill and restart without loss when its messages live in Redis",
    async () => {
      const result = await runScenario(
        nchanScenario(
          "nchan-redis.conf",
          `duration: 5s
warmup: 500ms
drain: 3s
reconnect: { initialDelay: 100ms, maxDelay: 500ms }
faults: [{ at: 2500ms, action: kill, instance: 0, restartAfter: 1s }]`,
        ),
      );
      expect(result.error).toBeUndefined();
      for (const [name, p] of Object.entries(result.protocols) as [string, ProtocolResult][]) {
        expect(p.faults[0]?.endedAtMs, name).toBeGreaterThan(3000);
        expect(p.breaks, name).toBeGreaterThanOrEqual(20);
        expect(p.neverReconnected, name).toBe(0);
        expect(p.expected, name).toBeGreaterThan(500);
        expect(p.lost, name).toBe(0);
        expect(p.delivered, name).toBe(p.expected);
      }
      expect(leftoverNginx()).toEqual([]);
    },
    120_000,
  );
});
