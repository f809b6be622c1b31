/**
 * What the reference server runs with: `/healthz` answers with its effective
 * settings, and a run records those of instance 0 in its result. Real
 * processes and sockets throughout.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMemoryBroker, startReferenceServer } from "../reference-server/index.js";
import { readResultFile } from "../src/gate/result-file.js";
import { runScenario } from "../src/load/run.js";
import { readServerSettings } from "../src/load/servers/server-settings.js";
import { parseScenario } from "../src/scenario/load.js";
import {
  buildServerArgs,
  parseReadyLine,
  SERVER_READY_PATTERN,
} from "../src/shared/server-launch.js";
import { startChild } from "../src/util/children.js";
import { compiledEntry } from "../src/util/paths.js";

describe("GET /healthz", () => {
  it("answers with the settings an instance process was launched with", async () => {
    const { handle, match } = await startChild({
      name: "reference server (healthz test)",
      command: process.execPath,
      args: [
        compiledEntry("reference-server/main.js"),
        ...buildServerArgs({
          port: 0,
          host: "127.0.0.1",
          broker: "memory",
          brokerUrl: null,
          heartbeatIntervalMs: 2500,
          presenceTtlMs: 7000,
          history: { maxCount: 0, maxAgeMs: 45_000 },
          maxBodyBytes: 4096,
          deliveryDelayMs: 3,
          instanceId: "blue-3",
          limits: {
            maxBodyDepth: null,
            maxPollBatch: null,
            maxPollBytes: null,
            writeTimeoutMs: null,
            requestTimeoutMs: null,
            maxConnections: null,
            redisCommandTimeoutMs: null,
          },
          h2: { maxStreams: 50, idleTimeoutMs: null },
          admin: false,
          brokerPrefix: null,
          routing: "sticky",
          fanout: "tiered",
          presenceEvents: true,
          presenceBatchMs: 250,
          idBase: 0,
          allowOrigins: null,
          tlsCert: null,
          tlsKey: null,
          wsDeflateThreshold: null,
        }),
      ],
      readyPattern: SERVER_READY_PATTERN,
    });
    try {
      const url = parseReadyLine(match[0]) as string;
      const health = await (await fetch(`${url}/healthz`)).json();
      expect(health).toEqual({
        status: "ok",
        instance: "blue-3",
        pid: handle.pid,
        broker: "memory",
        brokerHealth: { state: "ok" },
        settings: {
          instanceId: "blue-3",
          broker: "memory",
          heartbeatIntervalMs: 2500,
          presenceTtlMs: 7000,
          history: { maxCount: 0, maxAgeMs: 45_000 },
          maxBodyBytes: 4096,
          deliveryDelayMs: 3,
          limits: expect.objectContaining({ maxBodyDepth: 64, maxPollBatch: 1000 }),
          routing: "sticky",
          fanout: "tiered",
          presenceEvents: true,
          presenceBatchMs: 250,
          h2: { maxStreams: 50, idleTimeoutMs: 30_000 },
        },
      });
      expect(await readServerSettings(url)).toEqual((health as { settings: unknown }).settings);
    } finally {
      await handle.stop();
    }
  });

  it("resolves the defaults it applied: presence lasts 3 heartbeat intervals", async () => {
    const server = await startReferenceServer({ heartbeatIntervalMs: 2000 });
    try {
      expect(await readServerSettings(server.url)).toEqual({
        instanceId: `ref-${process.pid}`,
        broker: "memory",
        heartbeatIntervalMs: 2000,
        presenceTtlMs: 6000,
        history: { maxCount: 1000, maxAgeMs: 300_000 },
        maxBodyBytes: 65_536,
        deliveryDelayMs: 0,
        limits: {
          maxBodyDepth: 64,
          maxPollBatch: 1000,
          maxPollBytes: 262_144,
          writeTimeoutMs: 10_000,
          requestTimeoutMs: 10_000,
          maxConnections: expect.any(Number),
        },
        routing: "pubsub",
        fanout: "write",
        presenceEvents: false,
        presenceBatchMs: 1000,
        h2: { maxStreams: 100, idleTimeoutMs: 30_000 },
      });
    } finally {
      await server.close();
    }
  });

  it("does not claim history limits of a broker it was handed", async () => {
    const broker = createMemoryBroker({ maxCount: 5, maxAgeMs: 1000 });
    const server = await startReferenceServer({ broker });
    try {
      expect(await readServerSettings(server.url)).toMatchObject({ history: null });
    } finally {
      await server.close();
      await broker.close();
    }
  });

  it("a server without settings in /healthz gives null, not a guess", async () => {
    expect(await readServerSettings("http://127.0.0.1:1")).toBeNull();
  });
});

describe("a run records the server's settings", () => {
  it("server.presenceTtl: 7s reaches the servers and the result", async () => {
    const scenario = parseScenario(
      `
name: presence-ttl
protocols: [websocket, long-poll]
server: { presenceTtl: 7s, heartbeatInterval: 2s, history: { maxCount: 50 } }
clients: { count: 4, channels: 2, rampUp: 100ms }
publish: { rate: 10/s }
duration: 1s
warmup: 200ms
drain: 300ms
`,
      "presence-ttl.yaml",
    );
    const result = await runScenario(scenario);
    expect(result.status).toBe("complete");
    for (const protocol of ["websocket", "long-poll"] as const) {
      expect(result.protocols[protocol]?.server.settings).toEqual({
        instanceId: "0",
        broker: "memory",
        heartbeatIntervalMs: 2000,
        presenceTtlMs: 7000,
        history: { maxCount: 50, maxAgeMs: 300_000 },
        maxBodyBytes: 65_536,
        deliveryDelayMs: 0,
        limits: expect.objectContaining({ writeTimeoutMs: 10_000 }),
        routing: "pubsub",
        fanout: "write",
        presenceEvents: false,
        presenceBatchMs: 1000,
        h2: { maxStreams: 100, idleTimeoutMs: 30_000 },
      });
    }

    // The result schema documents the field: a written result still validates.
    const dir = await mkdtemp(join(tmpdir(), "rtbench-settings-"));
    try {
      const file = join(dir, "result.json");
      await writeFile(file, JSON.stringify(result));
      expect(readResultFile(file).protocols.websocket?.server.settings?.presenceTtlMs).toBe(7000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
