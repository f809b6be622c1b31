import { describe, expect, it } from "vitest";
import { serverLaunches } from "../src/load/servers/server-settings.js";
import { parseScenario } from "../src/scenario/load.js";
import type { ServerOptions } from "../src/scenario/types.js";
import { RtbenchError } from "../src/shared/errors.js";
import {
  buildServerArgs,
  formatReadyLine,
  parseReadyLine,
  parseServerArgs,
  SERVER_READY_PATTERN,
  type ServerLaunchSettings,
  serverUsage,
} from "../src/shared/server-launch.js";

/** Every field set, none to its default, so a field the flags drop cannot go unnoticed. */
const EVERY_FIELD: ServerLaunchSettings = {
  port: 4567,
  host: "127.0.0.2",
  broker: "redis",
  brokerUrl: "redis://127.0.0.1:6390/2",
  heartbeatIntervalMs: 1234,
  presenceTtlMs: 7000,
  history: { maxCount: 0, maxAgeMs: 999 },
  maxBodyBytes: 2048,
  deliveryDelayMs: 7,
  instanceId: "blue-3",
  admin: true,
  brokerPrefix: "rtbench:run-7:",
  routing: "sticky",
  allowOrigins: "https://a.example,http://b.example:8080",
  tlsCert: "/tmp/run-7/cert.pem",
  tlsKey: "/tmp/run-7/key.pem",
  wsDeflateThreshold: 512,
  fanout: "tiered",
  presenceEvents: true,
  presenceBatchMs: 250,
  idBase: 2_000_000_000_000,
  limits: {
    maxBodyDepth: 9,
    maxPollBatch: 11,
    maxPollBytes: 4096,
    writeTimeoutMs: 1500,
    requestTimeoutMs: 2500,
    maxConnections: 77,
    redisCommandTimeoutMs: 333,
  },
  h2: { maxStreams: 42, idleTimeoutMs: 4321 },
};

function leafPaths(value: object, prefix: string[] = []): string[][] {
  return Object.entries(value).flatMap(([key, child]) =>
    typeof child === "object" && child !== null
      ? leafPaths(child, [...prefix, key])
      : [[...prefix, key]],
  );
}

function badInputMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RtbenchError);
    expect((error as RtbenchError).code).toBe("BAD_INPUT");
    return (error as Error).message;
  }
  throw new Error("expected a BAD_INPUT error");
}

describe("server launch spec", () => {
  it("round-trips every field through argv", () => {
    const argv = buildServerArgs(EVERY_FIELD);
    expect(parseServerArgs(argv)).toEqual(EVERY_FIELD);
    // One flag per field: 11 fields, history counts twice, admin is a bare switch.
    const flags = argv.filter((arg) => arg.startsWith("--"));
    expect(flags).toHaveLength(leafPaths(EVERY_FIELD).length);
    expect(new Set(flags).size).toBe(flags.length);
    expect(argv).toContain("--presence-ttl-ms");
  });

  it("leaves null fields and a false switch off, so the server's defaults apply", () => {
    const argv = buildServerArgs({
      ...EVERY_FIELD,
      broker: "memory",
      brokerUrl: null,
      presenceTtlMs: null,
      admin: false,
      brokerPrefix: null,
      presenceEvents: false,
    });
    expect(argv).not.toContain("--broker-url");
    expect(argv).not.toContain("--presence-ttl-ms");
    expect(argv).not.toContain("--admin");
    expect(argv).not.toContain("--broker-prefix");
    expect(argv).not.toContain("--presence-events");
    const parsed = parseServerArgs(argv);
    expect(parsed).not.toHaveProperty("presenceTtlMs");
    expect(parsed).not.toHaveProperty("brokerUrl");
    expect(parsed).not.toHaveProperty("admin");
    expect(parsed.heartbeatIntervalMs).toBe(1234);
    expect(parseServerArgs([])).toEqual({});
  });

  it("rejects bad values, unknown brokers and unknown flags as bad input", () => {
    expect(badInputMessage(() => parseServerArgs(["--port", "x"]))).toBe(
      '--port: expected an integer >= 0, found "x"',
    );
    expect(badInputMessage(() => parseServerArgs(["--heartbeat-interval-ms", "0"]))).toBe(
      '--heartbeat-interval-ms: expected an integer >= 1, found "0"',
    );
    expect(badInputMessage(() => parseServerArgs(["--history-max-count", "1.5"]))).toBe(
      '--history-max-count: expected an integer >= 0, found "1.5"',
    );
    expect(badInputMessage(() => parseServerArgs(["--broker", "kafka"]))).toBe(
      '--broker: expected one of memory, redis, redis-sharded, redis-streams, nats, found "kafka"',
    );
    expect(badInputMessage(() => parseServerArgs(["--fanout", "push"]))).toBe(
      '--fanout: expected one of write, read, tiered, found "push"',
    );
    expect(badInputMessage(() => parseServerArgs(["--redis-url", "redis://x"]))).toMatch(
      /Unknown option '--redis-url'/,
    );
  });

  it("writes and reads the ready line with one pair of functions", () => {
    const line = formatReadyLine("http://127.0.0.1:4567");
    expect(line).toMatch(SERVER_READY_PATTERN);
    expect(parseReadyLine(line)).toBe("http://127.0.0.1:4567");
    expect(parseReadyLine("rtbench-server starting")).toBeNull();
  });

  it("lists every flag in the usage line", () => {
    const usage = serverUsage();
    for (const flag of buildServerArgs(EVERY_FIELD).filter((arg) => arg.startsWith("--"))) {
      expect(usage).toContain(`[${flag}`);
    }
  });
});

describe("serverLaunches: a scenario's server section to launch settings", () => {
  const server = parseScenario("name: launch\n", "launch.yaml").server;

  it("gives each instance every field of the section", () => {
    const scenario = parseScenario(
      `
name: launch
protocols: [websocket]
server:
  instances: 2
  broker: redis
  heartbeatInterval: 2s
  presenceTtl: 7s
  history: { maxCount: 50, maxAge: 1m }
  maxBodyBytes: 4096
  deliveryDelay: 15ms
  routing: sticky
  fanout: tiered
  presenceEvents: true
  presenceBatch: 250ms
  h2: { maxStreams: 64, idleTimeout: 90s }
`,
      "launch.yaml",
    );
    const launches = serverLaunches(scenario.server, "redis://127.0.0.1:6390", "rtbench:r1:");
    expect(launches).toEqual(
      [0, 1].map((index) => ({
        port: 0,
        host: "127.0.0.1",
        broker: "redis",
        brokerUrl: "redis://127.0.0.1:6390",
        heartbeatIntervalMs: 2000,
        presenceTtlMs: 7000,
        history: { maxCount: 50, maxAgeMs: 60_000 },
        maxBodyBytes: 4096,
        deliveryDelayMs: 15,
        instanceId: String(index),
        admin: true,
        brokerPrefix: "rtbench:r1:",
        routing: "sticky",
        fanout: "tiered",
        presenceEvents: true,
        presenceBatchMs: 250,
        idBase: (index + 1) * 1_000_000_000_000,
        allowOrigins: null,
        tlsCert: null,
        tlsKey: null,
        wsDeflateThreshold: null,
        limits: {
          maxBodyDepth: 64,
          maxPollBatch: 1000,
          maxPollBytes: 262_144,
          writeTimeoutMs: 10_000,
          requestTimeoutMs: 10_000,
          maxConnections: null,
          redisCommandTimeoutMs: 2000,
        },
        h2: { maxStreams: 64, idleTimeoutMs: 90_000 },
      })),
    );
  });

  // A field added to the scenario's server section must reach the server: changing it must
  // change what the instances are started with. The token is the exception: it travels in
  // the environment (serverEnv), never argv; test/security.test.ts runs a scenario with one.
  // So is tls: the run turns it into certificate files (load/servers/run-tls.ts) whose paths the
  // instances get; test/tls-run.test.ts runs a scenario with it. And proxy: it is a process
  // of its own in front of the instances (src/proxy/), not an instance setting;
  // test/proxy.test.ts runs scenarios with it.
  const launched = leafPaths(server).filter(
    (path) => !["auth", "tls", "proxy"].includes(path.join(".")),
  );
  it.each(launched.map((path) => [path.join(".")]))(
    "maps server.%s into the launch settings",
    (dotted) => {
      const changed = structuredClone(server) as unknown as Record<string, unknown>;
      const path = dotted.split(".");
      let node = changed;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
      const key = path[path.length - 1] as string;
      const value = node[key];
      node[key] =
        typeof value === "number"
          ? value + 1
          : typeof value === "boolean"
            ? !value
            : `${String(value)}-changed`;
      expect(serverLaunches(changed as unknown as ServerOptions, null)).not.toEqual(
        serverLaunches(server, null),
      );
    },
  );
});
