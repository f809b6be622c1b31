import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readResultFile } from "../src/gate/result-file.js";
import { evaluateThresholds } from "../src/gate/thresholds.js";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { packageRoot } from "../src/util/paths.js";
import { RTBENCH_BIN, runRtbench } from "./helpers/cli.js";
import { startToyServer, type ToyServer } from "./helpers/toy-server.js";

/**
 * A run in which nothing worked never passes, never hangs, and says why.
 * Broken targets are servers written in the test, on real sockets; the CLI
 * is the real bin/ (run `npx tsc -p tsconfig.json` first).
 */
let dir: string;
let toy: ToyServer | null = null;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rtbench-nothing-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await toy?.close();
  toy = null;
});

function scenarioFile(name: string, target: string, extra = ""): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      "protocols: [websocket]",
      `target: ${target}`,
      "clients: { count: 10, channels: 2, rampUp: 200ms }",
      "publish: { rate: 10/s }",
      "duration: 2s",
      "warmup: 500ms",
      "drain: 500ms",
      extra,
    ].join("\n"),
  );
  return file;
}

describe("rtbench run against a broken target", () => {
  it("ends on time against a /healthz-only target, with a JSON result that says nothing was measured", async () => {
    toy = await startToyServer({ healthOnly: true });
    const out = join(dir, "health-only");
    const outcome = await runRtbench([
      "run",
      scenarioFile("health-only", toy.url),
      "--json",
      "--out",
      out,
    ]);
    // Ramp-up, duration, then at most the acknowledgement timeout (5 s) for the unanswered publishes.
    expect(outcome.elapsedMs).toBeLessThan(200 + 2000 + 5000 + 5000);
    expect(outcome.code).toBe(3);
    const result = JSON.parse(outcome.stdout) as RunResult;
    expect(result.status).toBe("invalid");
    const ws = result.protocols.websocket as ProtocolResult;
    expect(ws.invalidReasons?.join()).toMatch(/no client connected \(0\/10\)/);
    expect(ws.publishAcks?.unanswered).toBeGreaterThan(0);
    expect(outcome.stderr).toContain("error: invalid run, its numbers are not a measurement");
    const [file] = readdirSync(out);
    expect(file).toMatch(/-invalid\.json$/);
    expect(readResultFile(join(out, file as string)).status).toBe("invalid");
  });

  it("exits 3 as an invalid run against a target that answers 500 to everything", async () => {
    toy = await startToyServer({ failEverything: true });
    const file = scenarioFile("all-500", toy.url, 'thresholds: { "*.lost": "== 0" }');
    const outcome = await runRtbench(["run", file, "--out", join(dir, "all-500")]);
    expect(outcome.code).toBe(3);
    expect(outcome.stdout).toMatch(/INVALID on WebSocket: no client connected/);
    // Each count says what it counts (it read "HTTP 500 x992" before).
    expect(outcome.stdout).toMatch(/HTTP 500/);
    expect(outcome.stdout.replace(/\s+/g, " ")).toMatch(/found 500\) \(\d+ connect attempts\)/);
    expect(outcome.stdout).toMatch(/websocket\.lost\s+== 0\s+run invalid\s+FAIL/);
    expect(outcome.stderr).toContain("error: 1 of 1 threshold failed");
    expect(outcome.stderr).toContain("error: invalid run, its numbers are not a measurement");
    expect(outcome.stderr).not.toMatch(/\n\s+at /);
  });

  it("one Ctrl-C yields the table and the JSON within 5 s, even with publishes unanswered", async () => {
    toy = await startToyServer({ healthOnly: true });
    const file = scenarioFile("interrupted", toy.url).replace(".yaml", "");
    writeFileSync(
      `${file}.yaml`,
      `name: interrupted\nprotocols: [websocket]\ntarget: ${toy.url}\nclients: { count: 10, rampUp: 200ms, channels: 2 }\nduration: 60s\nwarmup: 1s\n`,
    );
    const out = join(dir, "interrupted");
    const child = spawn(process.execPath, [RTBENCH_BIN, "run", `${file}.yaml`, "--out", out], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const signalledMs = Date.now();
    child.kill("SIGINT");
    const code = await exited;
    expect(Date.now() - signalledMs).toBeLessThan(5000);
    expect(code).toBe(130);
    expect(stdout).toContain("PARTIAL RESULT (interrupted)");
    expect(existsSync(out) && readdirSync(out).some((f) => f.endsWith("-partial.json"))).toBe(true);
  });
});

describe("what a server sends never crashes a client; a shard that dies says why", () => {
  it("counts null, non-object and malformed frames and events as unrecognised, and loses nothing", async () => {
    toy = await startToyServer({ garbageFrames: true });
    const scenario = parseScenario(
      `
name: garbage
protocols: [websocket, sse]
target: ${toy.url}
clients: { count: 6, channels: 2, rampUp: 200ms }
publish: { rate: 10/s }
duration: 2s
warmup: 500ms
drain: 500ms
`,
      "garbage.yaml",
    );
    const result = await runScenario(scenario);
    expect(result.status).toBe("complete");
    for (const protocol of ["websocket", "sse"] as const) {
      const r = result.protocols[protocol] as ProtocolResult;
      expect(r.generator.missingShards, protocol).toBe(0);
      expect(r.lost, protocol).toBe(0);
      expect(r.delivered, protocol).toBeGreaterThan(0);
      expect(r.unrecognisedFrames, protocol).toBeGreaterThan(r.delivered);
      expect(r.breaks, protocol).toBe(0);
    }
  });

  it("a run whose shard died is invalid, with the shard's own error, and fails every threshold", async () => {
    const previous = process.env.RTBENCH_TEST_SHARD_FAIL;
    process.env.RTBENCH_TEST_SHARD_FAIL = "shard fell over on purpose";
    try {
      const scenario = parseScenario(
        `
name: dying-shard
protocols: [websocket]
clients: { count: 4, channels: 1, rampUp: 100ms, shards: 1 }
publish: { rate: 10/s }
duration: 1500ms
warmup: 500ms
drain: 500ms
`,
        "dying-shard.yaml",
      );
      const result = await runScenario(scenario);
      expect(result.status).toBe("invalid");
      const ws = result.protocols.websocket as ProtocolResult;
      expect(ws.status).toBe("invalid");
      expect(ws.invalidReasons?.join()).toMatch(
        /shard 0 died \(exit code 1\): Error: shard fell over on purpose/,
      );
      // Its own error, not rtbench's load: not a reason to call the generator the limit.
      expect(ws.saturation?.generator.reasons.join()).not.toMatch(/shard 0/);
      const outcomes = evaluateThresholds(
        { "*.lost": "== 0", "websocket.connected": "> 0" },
        result,
      );
      expect(outcomes.map((o) => [o.pass, o.note])).toEqual([
        [false, "run invalid"],
        [false, "run invalid"],
      ]);
    } finally {
      if (previous === undefined) delete process.env.RTBENCH_TEST_SHARD_FAIL;
      else process.env.RTBENCH_TEST_SHARD_FAIL = previous;
    }
  });
});
