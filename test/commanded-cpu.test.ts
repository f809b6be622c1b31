/**
 * A user's own server, started by target.command behind a shell, that burns
 * CPU on every publish: the busiest-CPU figure and the saturation verdict
 * read its whole process group (as the cost rows do), not the waiting shell.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { busiestCpu } from "../src/report/verdict-lines.js";
import { parseScenario } from "../src/scenario/load.js";

/** Busy time per publish; at 20/s that is most of a core. */
const SPIN_MS = 35;

const SERVER = `
const http = require("node:http");
const streams = new Map();
http.createServer((req, res) => {
  const [, route, channel] = req.url.split("/");
  if (route === "sse") {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(": open\\n\\n");
    if (!streams.has(channel)) streams.set(channel, new Set());
    streams.get(channel).add(res);
    req.on("close", () => streams.get(channel).delete(res));
    return;
  }
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    const until = Date.now() + ${SPIN_MS};
    while (Date.now() < until) {}
    for (const stream of streams.get(channel) ?? []) stream.write("data: " + body + "\\n\\n");
    res.writeHead(200).end();
  });
}).listen(Number(process.argv[2]), "127.0.0.1");
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-commanded-cpu-"));
  await writeFile(join(dir, "spin.js"), SERVER);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("server CPU of a server started by target.command", () => {
  it("is the command's whole process group: non-zero, and the saturation CPU test fires", async () => {
    const scenario = parseScenario(
      `
name: spinning
protocols: [sse]
target:
  protocol: custom
  command: 'sh -c "node {scenarioDir}/spin.js {port}"'
  publish: { path: "/publish/{channel}" }
  sse: { path: "/sse/{channel}" }
  message: { body: "" }
clients: { count: 4, channels: 1, rampUp: 100ms, shards: 1 }
publish: { rate: 20/s }
duration: 4s
warmup: 1s
drain: 500ms
saturation: { serverCpuShare: 0.05 }
`,
      join(dir, "spinning.yaml"),
    );
    const result = await runScenario(scenario);
    const sse = result.protocols.sse as ProtocolResult;
    expect(sse.delivered).toBeGreaterThan(0);
    const server = sse.saturation?.processes.find((p) => p.role === "server");
    // 20 publishes/s x 35 ms is ~70% of a core (less on a crowded machine: the
    // spin is by the wall clock); the shell that waits for it reads 0%.
    expect(server?.cpuShare).toBeGreaterThan(0.05);
    expect(busiestCpu(sse, true)).toBeGreaterThan(5);
    expect(sse.saturation?.server.saturated).toBe(true);
    expect(sse.saturation?.server.reasons.join()).toMatch(
      /server instance 0 at \d+% CPU \(limit 5%\)/,
    );
  }, 30_000);
});
