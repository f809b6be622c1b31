import { describe, expect, it } from "vitest";
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from "../reference-server/broker/redis-guard.js";
import {
  DEFAULT_H2_IDLE_TIMEOUT_MS,
  DEFAULT_H2_MAX_STREAMS,
} from "../reference-server/h2-sessions.js";
import {
  DEFAULT_MAX_BODY_DEPTH,
  DEFAULT_MAX_POLL_BATCH,
  DEFAULT_MAX_POLL_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_WRITE_TIMEOUT_MS,
} from "../reference-server/limits.js";
import { serverLaunches } from "../src/load/servers/server-settings.js";
import { buildServerArgs, type ServerLaunchSettings } from "../src/shared/server-launch.js";

const LIMIT_FLAGS = [
  "--max-body-depth",
  "--max-poll-batch",
  "--max-poll-bytes",
  "--write-timeout-ms",
  "--request-timeout-ms",
  "--max-connections",
];

import { parseScenario } from "../src/scenario/load.js";
import { RtbenchError } from "../src/shared/errors.js";
import { startServerProcess } from "./helpers/server-process.js";

/** The problems parsing `text` reports, one a line (it must fail with BAD_INPUT details). */
function problemsOf(text: string, file: string): string {
  let error: unknown;
  try {
    parseScenario(text, file);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(RtbenchError);
  return (error as RtbenchError).details.join("\n");
}

describe("server resource limits in scenarios", () => {
  it("default to what the reference server uses on its own", () => {
    const { server } = parseScenario("{}", "defaults.yaml");
    expect(server).toMatchObject({
      maxBodyDepth: DEFAULT_MAX_BODY_DEPTH,
      maxPollBatch: DEFAULT_MAX_POLL_BATCH,
      maxPollBytes: DEFAULT_MAX_POLL_BYTES,
      writeTimeoutMs: DEFAULT_WRITE_TIMEOUT_MS,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
      maxConnections: null,
      redisCommandTimeoutMs: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
      h2: { maxStreams: DEFAULT_H2_MAX_STREAMS, idleTimeoutMs: DEFAULT_H2_IDLE_TIMEOUT_MS },
    });
  });

  it("refuse more SSE streams per HTTP/2 connection than server.h2.maxStreams allows", () => {
    const text = [
      "protocols: [sse-h2]",
      "server: { h2: { maxStreams: 50, idleTimeout: 0 } }",
      "sseH2: { streamsPerConnection: 80 }",
    ].join("\n");
    const details = problemsOf(text, "h2.yaml");
    expect(details).toContain(
      "sseH2.streamsPerConnection: expected at most server.h2.maxStreams (50)",
    );
    expect(details).toContain("server.h2.idleTimeout: expected a duration above 0");
  });

  it("are refused out of range, naming the field", () => {
    const text = [
      "server:",
      "  maxBodyDepth: 1",
      "  maxPollBatch: 0",
      "  maxConnections: 0",
      "  writeTimeout: 0",
      "  requestTimeout: soon",
    ].join("\n");
    const details = problemsOf(text, "limits.yaml");
    for (const field of [
      "server.maxBodyDepth",
      "server.maxPollBatch",
      "server.maxConnections",
      "server.writeTimeout",
      "server.requestTimeout",
    ]) {
      expect(details).toContain(field);
    }
  });

  it("reach the server instances rtbench starts", async () => {
    const { server } = parseScenario(
      [
        "server:",
        "  maxBodyDepth: 8",
        "  maxPollBatch: 5",
        "  maxPollBytes: 4096",
        "  writeTimeout: 3s",
        "  requestTimeout: 1500ms",
        "  maxConnections: 77",
      ].join("\n"),
      "limits.yaml",
    );
    const [launch] = serverLaunches(server, null);
    const args = buildServerArgs({ ...(launch as ServerLaunchSettings), port: 0 });
    const pairs = new Map(args.map((arg, i) => [arg, args[i + 1]]));
    expect(LIMIT_FLAGS.map((flag) => [flag, pairs.get(flag)])).toEqual([
      ["--max-body-depth", "8"],
      ["--max-poll-batch", "5"],
      ["--max-poll-bytes", "4096"],
      ["--write-timeout-ms", "3000"],
      ["--request-timeout-ms", "1500"],
      ["--max-connections", "77"],
    ]);
    const instance = await startServerProcess(args);
    try {
      expect(await instance.metric("rtbench_max_connections")).toBe(77);
      const deep = await fetch(`${instance.url}/api/messages`, {
        method: "POST",
        body: `{"channel":"c","body":${"[".repeat(8)}${"]".repeat(8)}}`,
      });
      expect(deep.status).toBe(400);
      expect(((await deep.json()) as { error: string }).error).toMatch(/at most 8 levels/);
    } finally {
      await instance.stop();
    }
  });
});
