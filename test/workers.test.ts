import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runScenario } from "../src/load/run.js";
import { WorkerHub } from "../src/load/workers/coordinator.js";
import { startLocalWorkers } from "../src/load/workers/local.js";
import { reachableFrom } from "../src/load/workers/worker.js";
import {
  createLatencyHistogram,
  encodeHistogram,
  recordMs,
  summarizeEncoded,
  summarizeHistogram,
} from "../src/metrics/histogram.js";
import type { RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { packageVersion } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";
import { waitFor } from "./helpers/wait.js";

const AS_ROOT = process.getuid?.() === 0;

/** The network namespaces rtbench made (`rtb<pid>-w<i>`), when root can list them. */
function rtbenchNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => /^rtb\d+-w/.test(line));
}

const SCENARIO = [
  "name: workers",
  "protocols: [websocket]",
  "seed: 7",
  "clients: { count: 30, channels: 3, rampUp: 300ms }",
  "publish: { rate: 30/s }",
  "duration: 3s",
  "warmup: 500ms",
  "drain: 1s",
].join("\n");

const dir = mkdtempSync(join(tmpdir(), "rtbench-workers-"));
const scenarioFile = join(dir, "workers.yaml");
writeFileSync(scenarioFile, SCENARIO);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("histograms from several workers", () => {
  it("merge exactly: the same summary as one histogram fed every sample", () => {
    // Known samples, spread unevenly over three workers, with a long tail on one.
    const workers = [0, 1, 2].map(() => createLatencyHistogram());
    const all = createLatencyHistogram();
    for (let i = 0; i < 3000; i++) {
      const ms = i % 97 === 0 ? 250 + i / 10 : 0.5 + ((i * 7919) % 1000) / 37;
      recordMs(
        workers[i % 3 === 0 ? 0 : i % 5 === 0 ? 1 : 2] as ReturnType<typeof createLatencyHistogram>,
        ms,
      );
      recordMs(all, ms);
    }
    // What crosses the control connection: the encoded form, inside JSON.
    const crossed = workers.map((h) => JSON.parse(JSON.stringify(encodeHistogram(h))) as string);
    const merged = summarizeEncoded(crossed);
    const single = summarizeHistogram(all);
    expect(merged.count).toBe(3000);
    for (const key of ["count", "min", "mean", "p50", "p90", "p99", "p999", "max"] as const) {
      expect(merged[key]).toBe(single[key]);
    }
  });
});

describe("rtbench run --workers 3 --local", () => {
  let single: RunResult;
  let workers: RunResult;

  it("gives the one-process run's delivered, expected, lost and duplicates, with a worker 250 ms skewed", async () => {
    single = await runScenario(parseScenario(SCENARIO, "workers.yaml"));
    const out = join(dir, "out");
    const namespacesBefore = AS_ROOT ? rtbenchNamespaces() : [];
    const run = await runRtbench(
      ["run", scenarioFile, "--workers", "3", "--local", "--json", "--out", out],
      { env: { RTBENCH_TEST_WORKER_CLOCK_SKEW_MS: "0,250,0" }, timeoutMs: 40_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const joins = run.stderr.split("\n").filter((line) => / joined from /.test(line));
    expect(joins).toHaveLength(3);
    if (AS_ROOT) {
      // Each worker dialled from its own namespace's address, and all of it is gone afterwards.
      expect(run.stderr).toContain("local workers in network namespaces of their own");
      for (const line of joins) expect(line).toMatch(/ at 10\.\d+\.0\.[2-4] /);
      expect(rtbenchNamespaces()).toEqual(namespacesBefore);
    } else {
      expect(run.stderr).toContain(
        "local workers are plain processes on loopback (no network namespaces: not root)",
      );
    }
    workers = JSON.parse(run.stdout) as RunResult;
    const [one, many] = [single.protocols.websocket, workers.protocols.websocket];
    expect(one && many).toBeTruthy();
    if (!one || !many) return;
    expect(workers.status).toBe("complete");
    expect(one.expected).toBeGreaterThan(0);
    for (const key of ["delivered", "expected", "lost", "duplicates", "connected"] as const) {
      expect(many[key]).toBe(one[key]);
    }
    expect(many.generator.processes).toBe(4);
    expect(many.workers?.count).toBe(3);
    expect(many.workers?.controlBytesInPerWorkerPerSec).toBeGreaterThan(0);
    expect(one.workers).toBeUndefined();
    // One file, written as a local run writes it.
    expect(readdirSync(out)).toHaveLength(1);
  }, 60_000);

  it("measures each worker's clock offset within its bound, and corrects latency by it", () => {
    const clock = workers.protocols.websocket?.clock;
    expect(clock?.workers.map((w) => w.worker)).toEqual(["worker 0", "worker 1", "worker 2"]);
    if (!clock) return;
    // Worker 1's clock runs 250 ms ahead: the coordinator's is 250 ms behind it.
    const skews = [0, -250, 0];
    for (const [i, w] of clock.workers.entries()) {
      expect(w.boundMs).toBeGreaterThan(0);
      expect(Math.abs(w.offsetMs - (skews[i] as number))).toBeLessThanOrEqual(w.boundMs);
    }
    expect(clock.boundMs).toBe(Math.max(...clock.workers.map((w) => w.boundMs)));
    // Uncorrected, a third of the deliveries would be 250 ms late (or early, below 0).
    const latency = workers.protocols.websocket?.latency;
    expect(latency?.min).toBeGreaterThan(0);
    expect(latency?.max).toBeLessThan(200);
  });
});

describe("a server URL as a worker dials it", () => {
  it.each([
    ["http://0.0.0.0:8080", "ws://10.0.0.5:7070", "http://10.0.0.5:8080"],
    ["http://127.0.0.1:8080", "ws://coordinator.rtbench:7070", "http://coordinator.rtbench:8080"],
    ["https://0.0.0.0:8443", "ws://10.0.0.5:7070", "https://10.0.0.5:8443"],
    ["http://10.185.0.1:8080", "ws://10.185.0.1:7070", "http://10.185.0.1:8080"],
    ["https://chat.example.com/api", "ws://10.0.0.5:7070", "https://chat.example.com/api"],
  ])("%s via %s is %s", (server, coordinator, reached) => {
    expect(reachableFrom(server, coordinator)).toBe(reached);
  });
});

describe("the control connection", () => {
  it("refuses a worker of another version, naming both versions", async () => {
    const hub = await WorkerHub.listen("127.0.0.1", 0, 1, () => {});
    try {
      const socket = new WebSocket(hub.url);
      await new Promise((resolve) => socket.once("open", resolve));
      const answer = new Promise<{ type: string; reason: string }>((resolve) =>
        socket.once("message", (data) => resolve(JSON.parse(String(data)))),
      );
      socket.send(
        JSON.stringify({ type: "hello", version: "0.0.1-old", index: null, host: "t", pid: 1 }),
      );
      const refused = await answer;
      expect(refused.type).toBe("refused");
      expect(refused.reason).toContain(`coordinator runs rtbench ${packageVersion()}`);
      expect(refused.reason).toContain("this worker rtbench 0.0.1-old");
      socket.close();
    } finally {
      await hub.close();
    }
  });

  it("a worker takes its index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and exits 0 when released", async () => {
    const hub = await WorkerHub.listen("127.0.0.1", 0, 3, () => {});
    try {
      const worker = runRtbench(["worker", "--coordinator", hub.url], {
        env: { JOB_COMPLETION_INDEX: "2" },
        timeoutMs: 20_000,
      });
      await waitFor(() => hub.links[2] != null, "worker 2 to join", 15_000);
      expect(hub.links[0]).toBeNull();
      expect(hub.links[1]).toBeNull();
      await hub.close();
      const outcome = await worker;
      expect(outcome.code).toBe(0);
    } finally {
      await hub.close();
    }
  });

  it("a coordinator whose workers do not come exits 3 after --worker-wait, naming how many came", async () => {
    const run = await runRtbench(
      [
        "run",
        scenarioFile,
        "--workers",
        "2",
        "--worker-wait",
        "1s",
        "--coordinator-listen",
        "127.0.0.1:0",
      ],
      { timeoutMs: 15_000 },
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /error: 0 of 2 workers connected to ws:\/\/127\.0\.0\.1:\d+ within 1 s \(--worker-wait\)/,
    );
  });

  it("a worker that cannot reach its coordinator fails with one line within its connect timeout", async () => {
    const run = await runRtbench(
      ["worker", "--coordinator", "ws://127.0.0.1:9", "--connect-timeout", "1s"],
      { timeoutMs: 15_000 },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^error: cannot reach the coordinator at ws:\/\/127\.0\.0\.1:9 within 1 s/,
    );
    expect(run.elapsedMs).toBeLessThan(10_000);
  });
});

describe("a worker lost during the run", () => {
  it("makes the run partial naming it; the others' figures stay exact", async () => {
    const scenario = parseScenario(SCENARIO.replace("duration: 3s", "duration: 4s"), "lost.yaml");
    const hub = await WorkerHub.listen("127.0.0.1", 0, 3, () => {});
    const local = await startLocalWorkers(3, hub.url, () => {});
    let killed = false;
    try {
      await hub.waitForWorkers(20_000);
      const result = await runScenario(scenario, {
        workers: hub,
        onProgress: (p) => {
          if (p.phase === "measuring" && !killed) {
            killed = true;
            local.handles[1]?.process.kill("SIGKILL");
          }
        },
      });
      expect(killed).toBe(true);
      expect(result.status).toBe("partial");
      const ws = result.protocols.websocket;
      expect(ws?.lostWorkers).toEqual([
        {
          worker: "worker 1",
          reason: expect.stringContaining("control connection closed"),
          clients: 10,
        },
      ]);
      if (!ws) return;
      // Workers 0 and 2 hold 20 clients: every message they expected arrived once.
      expect(ws.status).toBe("measured");
      expect(ws.connected).toBe(20);
      expect(ws.lost).toBe(0);
      expect(ws.duplicates).toBe(0);
      expect(ws.expected).toBeGreaterThan(0);
      expect(ws.delivered).toBe(ws.expected);
    } finally {
      await hub.close();
      await local.stop();
    }
  }, 40_000);
});
