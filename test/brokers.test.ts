import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createBroker } from "../reference-server/broker/registry.js";
import { runScenario } from "../src/load/run.js";
import { sampleBrokerOps } from "../src/measures/broker-cost.js";
import type { RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { natsService } from "../src/services/nats.js";
import { redisService } from "../src/services/redis.js";
import { SERVICES, serviceFor } from "../src/services/registry.js";
import { BROKER_KINDS, BROKERS, brokerInfo, sharedBrokers } from "../src/shared/brokers.js";
import type { RtbenchError } from "../src/shared/errors.js";
import { packageRoot } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";
import { itService } from "./helpers/services.js";

/** The value at `path` inside schema file `name`. */
function schemaAt(name: string, path: string): unknown {
  let node: unknown = JSON.parse(readFileSync(join(packageRoot, "schema", name), "utf8"));
  for (const key of path.split(".")) node = (node as Record<string, unknown>)[key];
  return node;
}

describe("broker descriptors", () => {
  it("the JSON schemas list exactly the broker kinds of src/shared/brokers.ts", () => {
    expect(schemaAt("scenario.schema.json", "properties.server.properties.broker.enum")).toEqual([
      ...BROKER_KINDS,
    ]);
    expect(schemaAt("result.schema.json", "properties.setup.properties.broker.enum")).toEqual([
      ...BROKER_KINDS,
      "external",
    ]);
    expect(
      schemaAt("result.schema.json", "definitions.serverSettings.properties.broker.enum"),
    ).toEqual([...BROKER_KINDS]);
  });

  it("every service a broker names is a backing service rtbench can start", () => {
    for (const row of BROKERS) {
      const service = serviceFor(row.kind);
      if (row.service === null) {
        expect(service).toBeNull();
        continue;
      }
      expect(service).toBe(SERVICES[row.service]);
      expect(service?.name).toBe(row.service);
      expect(service?.urlEnv).toMatch(/^[A-Z_]+$/);
    }
    expect(serviceFor("redis")?.command).toBe("redis-server");
    expect(serviceFor("redis-streams")).toBe(serviceFor("redis"));
    expect(serviceFor("nats")?.command).toBe("nats-server");
  });

  it("answers the questions validation and the CLI ask", () => {
    expect(sharedBrokers()).toEqual(["redis", "redis-sharded", "redis-streams", "nats"]);
    expect(brokerInfo("memory")).toMatchObject({ shared: false, service: null });
  });

  it("more than one instance needs a shared broker, named from the rows", () => {
    for (const text of ["server: { instances: 2, broker: memory }", "server: { instances: 2 }"]) {
      let details = "";
      try {
        parseScenario(`${text}\n`, "two.yaml");
      } catch (error) {
        details = (error as RtbenchError).details.join("\n");
      }
      expect(details).toContain(
        `server.broker: expected a broker shared between instances (${sharedBrokers().join(", ")})`,
      );
    }
    expect(
      parseScenario("server: { instances: 2, broker: redis }\n", "two.yaml").server,
    ).toMatchObject({ instances: 2, broker: "redis" });
  });

  it("nats without JetStream is refused with the reason", () => {
    let details = "";
    try {
      parseScenario(
        "server: { instances: 2, broker: nats, nats: { jetstream: false } }\n",
        "core.yaml",
      );
    } catch (error) {
      details = (error as RtbenchError).details.join("\n");
    }
    expect(details).toContain(
      "server.nats.jetstream: expected true (the nats broker takes each channel's ids",
    );
    expect(
      parseScenario(
        "server: { instances: 2, broker: nats, nats: { jetstream: true } }\n",
        "js.yaml",
      ).server,
    ).toMatchObject({ instances: 2, broker: "nats" });
  });

  it("tiered fan-out over several instances needs a broker that shares members", () => {
    let details = "";
    try {
      parseScenario(
        "protocols: [websocket]\nserver: { instances: 2, broker: nats, fanout: tiered }\nclients: { count: 10, members: 100 }\n",
        "tiered.yaml",
      );
    } catch (error) {
      details = (error as RtbenchError).details.join("\n");
    }
    expect(details).toContain(
      'server.fanout: expected a broker that shares channel members between instances (redis, redis-sharded, redis-streams) with fanout tiered and 2 instances (the nats broker keeps members and unread counters per instance), found broker "nats"',
    );
  });

  it("the server's registry creates a broker of each kind that needs no service", async () => {
    for (const row of BROKERS.filter((b) => b.service === null)) {
      const broker = await createBroker(row.kind, {
        url: null,
        limits: { maxCount: 10, maxAgeMs: 1000 },
      });
      expect(broker.kind).toBe(row.kind);
      await broker.close();
    }
  });

  it("a broker whose service has no URL is bad input, not a crash", async () => {
    for (const row of BROKERS.filter((b) => b.service !== null)) {
      await expect(
        createBroker(row.kind, { url: null, limits: { maxCount: 10, maxAgeMs: 1000 } }),
      ).rejects.toMatchObject({
        code: "BAD_INPUT",
        message: expect.stringContaining("--broker-url"),
      });
    }
  });
});

describe("a broker whose service is not installed", () => {
  it("rtbench run falls back to the memory broker, says so, and records it", async () => {
    // An empty PATH: the service's program cannot be found (children start from process.execPath).
    const dir = await mkdtemp(join(tmpdir(), "rtbench-no-service-"));
    try {
      const file = join(dir, "shared.yaml");
      await writeFile(
        file,
        "name: shared\nprotocols: [websocket]\nserver: { instances: 2, broker: redis }\nclients: { count: 4, channels: 2, rampUp: 100ms }\npublish: { rate: 10/s }\nduration: 1s\nwarmup: 200ms\ndrain: 300ms\n",
      );
      const out = join(dir, "out");
      const { code, stderr } = await runRtbench(["run", file, "--out", out], {
        env: { PATH: dir, REDIS_URL: "" },
      });
      const notice =
        "redis-server is not installed: running on the in-memory broker with 1 instance instead of 2 over Redis";
      expect(code, stderr).toBe(0);
      expect(stderr).toContain(`notice: ${notice}`);
      const [name] = (await readdir(out)).filter((n) => n.endsWith(".json"));
      const result = JSON.parse(await readFile(join(out, name as string), "utf8")) as RunResult;
      expect(result.setup).toMatchObject({ broker: "memory", instances: 1 });
      expect(result.setup.notes.join("\n")).toContain(notice);
      expect(result.protocols.websocket?.server.settings?.broker).toBe("memory");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("backing services answer for their own operation counts", () => {
  it("a NATS rtbench did not start says why it has no counts", async () => {
    // Its monitoring port, where NATS counts, is unknown.
    expect(await natsService.operationCounts("nats://127.0.0.1:1")).toMatchObject({
      counts: null,
      reason: expect.stringContaining("monitoring port"),
    });
  });

  itService(
    natsService,
    "nats: the messages in and out rise with the messages published, and a run's broker cost is a number",
    async () => {
      const nats = await natsService.start();
      const broker = await createBroker("nats", {
        url: nats.url,
        limits: { maxCount: 100, maxAgeMs: 60_000 },
        keyPrefix: "ops-test",
      });
      try {
        const total = async () => {
          const read = await sampleBrokerOps(() => nats.operationCounts(), []);
          expect(read.counts, "reason" in read ? read.reason : "").not.toBeNull();
          const counts = read.counts ?? {};
          return (counts.in_msgs ?? 0) + (counts.out_msgs ?? 0);
        };
        const before = await total();
        for (let i = 0; i < 10; i++) await broker.publish("ops", { i });
        const afterTen = await total();
        for (let i = 0; i < 40; i++) await broker.publish("ops", { i });
        const afterFifty = await total();
        // Each publish is at least a JetStream store and its ack, and a live message.
        expect(afterTen - before).toBeGreaterThanOrEqual(10 * 2);
        expect(afterFifty - afterTen).toBeGreaterThanOrEqual(40 * 2);
        expect(afterFifty - afterTen).toBeGreaterThan(afterTen - before);
      } finally {
        await broker.close();
        await nats.stop();
      }

      const result = await runScenario(
        parseScenario(
          "name: nats-cost\nprotocols: [websocket]\nserver: { instances: 2, broker: nats }\nclients: { count: 4, channels: 2, rampUp: 100ms }\npublish: { rate: 20/s }\nduration: 1s\nwarmup: 200ms\ndrain: 300ms\n",
          "nats-cost.yaml",
        ),
      );
      expect(result.error).toBeUndefined();
      const cost = result.protocols.websocket?.broker;
      expect(cost?.operations).toBeGreaterThan(0);
      // Every published message is stored (in, ack out) and fanned out to both instances.
      expect(cost?.operationsPerMessage).toBeGreaterThanOrEqual(2);
      expect(Object.keys(cost?.byKind ?? {}).sort()).toEqual(["in_msgs", "out_msgs"]);
    },
    40_000,
  );

  itService(
    redisService,
    "redis: a broker-restart inside the window makes the run's broker cost n/a, and the log says why",
    async () => {
      // Redis's INFO commandstats start again at 0 on the restart: no count of the window is whole.
      const log: string[] = [];
      const result = await runScenario(
        parseScenario(
          "name: redis-cost-restart\nprotocols: [websocket]\nserver: { instances: 1, broker: redis }\nclients: { count: 4, channels: 2, rampUp: 100ms }\npublish: { rate: 20/s }\nduration: 1500ms\nwarmup: 200ms\ndrain: 300ms\nfaults:\n  - { at: 800ms, action: broker-restart }\n",
          "redis-cost-restart.yaml",
        ),
        { log: (line) => log.push(line) },
      );
      expect(result.error).toBeUndefined();
      const ws = result.protocols.websocket;
      expect(ws?.faults.map((f) => f.action)).toEqual(["broker-restart"]);
      expect(ws?.broker).toBeNull();
      expect(log).toContainEqual(
        expect.stringMatching(/^websocket: broker cost: n\/a: a broker-restart fault restarted/),
      );
    },
    40_000,
  );
});
