import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../src/metrics/types.js";
import { freePort } from "../src/util/net.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";

/** What a user sees: the real bin/rtbench.js in its own process. */
const BIN = RTBENCH_BIN;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-run-cli-"));
});

function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)])
      .toString()
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function resultFiles(out: string): Promise<RunResult[]> {
  const names = (await readdir(out)).filter((n) => n.endsWith(".json"));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(out, n), "utf8"))));
}

describe("rtbench run (CLI)", () => {
  it("prints the comparison table, writes the result file and exits 0", async () => {
    const file = join(dir, "tiny.yaml");
    await writeFile(
      file,
      "name: tiny\nprotocols: [sse, websocket]\nclients: { count: 10, channels: 2, rampUp: 200ms }\npublish: { rate: 20/s }\nduration: 1500ms\nwarmup: 300ms\ndrain: 500ms\n",
    );
    const out = join(dir, "out-complete");
    const html = join(dir, "tiny.html");
    const summary = join(dir, "summary.md");
    const { code, stdout, stderr } = await runRtbench([
      "run",
      file,
      "--out",
      out,
      "--html",
      html,
      "--summary",
      summary,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/SSE\s+WebSocket/);
    expect(stdout).toMatch(/latency p99 ms/);
    expect(stderr).toContain("result written to");
    expect(stderr).toContain(`HTML report written to ${html}`);
    const [result] = await resultFiles(out);
    expect(result?.status).toBe("complete");
    expect(result?.protocols.websocket?.lost).toBe(0);
    expect(result?.protocols.websocket?.timeline?.buckets).toBe(3);
    const page = await readFile(html, "utf8");
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('data-chart="connected"');
    expect(await readFile(summary, "utf8")).toContain(`Charts: [tiny.html](${html})`);
  });

  it("refuses --html into a directory that does not exist, before running anything", async () => {
    const { code, stderr } = await runRtbench([
      "run",
      join(dir, "never-read.yaml"),
      "--html",
      join(dir, "no-such-dir", "report.html"),
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain("--html: expected a file in an existing directory");
  });

  it("exits 3 with one clear line when the run cannot start its servers", async () => {
    const file = join(dir, "redis-down.yaml");
    await writeFile(
      file,
      "name: redis-down\nprotocols: [websocket]\nserver: { instances: 2, broker: redis }\nclients: { count: 4, channels: 1 }\nduration: 1s\nwarmup: 0\n",
    );
    const closedPort = await freePort(); // nothing listens there
    const { code, stderr } = await runRtbench(["run", file, "--out", join(dir, "out-failed")], {
      env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` },
    });
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /error: \S+redis-down\.yaml: the run failed: .*cannot connect to redis:\/\/127\.0\.0\.1:\d+/,
    );
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stderr).not.toContain("Unhandled error event");
  });

  it("Ctrl-C stops the run, leaves no child process and writes a partial result", async () => {
    const file = join(dir, "long.yaml");
    await writeFile(
      file,
      "name: long\nprotocols: [websocket, sse]\nclients: { count: 20, channels: 2, rampUp: 200ms }\npublish: { rate: 20/s }\nduration: 60s\nwarmup: 500ms\ndrain: 1s\n",
    );
    const out = join(dir, "out-partial");
    const child = spawn(process.execPath, [BIN, "run", file, "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on("exit", resolve));

    // Let it get into the measured window, with its server and shard running.
    let children: number[] = [];
    for (let i = 0; i < 50 && children.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      children = childPids(child.pid as number);
    }
    expect(children.length).toBeGreaterThanOrEqual(2);
    // Long enough that part of the window is older than the drain time at the interrupt.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    child.kill("SIGINT");
    const code = await exited;

    expect(code, stderr).toBe(130);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    for (const pid of children) expect(isRunning(pid), `child ${pid} still running`).toBe(false);
    const [result] = await resultFiles(out);
    expect(result?.status).toBe("partial");
    expect(result?.protocols.websocket?.delivered).toBeGreaterThan(0);
    // Messages of the last drain time before the interrupt are in flight, not lost.
    expect(result?.protocols.websocket?.lost).toBe(0);
    expect(result?.protocols.websocket?.inFlightAtInterrupt).toBeGreaterThanOrEqual(0);
    expect(result?.protocols.sse).toBeUndefined();
  });
});
