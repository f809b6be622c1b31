/**
 * What a new user reads before and around a run: the help's tolerances,
 * `init`'s comments and `init --ci`, and the small messages that say what
 * to do next. The real bin in its own process.
 */
import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ProgressLine } from "../src/cli/measure.js";
import { type ComparisonRow, changePct, compareResults } from "../src/gate/compare.js";
import { toleranceFor } from "../src/gate/judged.js";
import { listMetrics } from "../src/measures/names.js";
import { formatChange } from "../src/report/verdicts.js";
import { parseScenario } from "../src/scenario/load.js";
import { scenarioWarnings } from "../src/scenario/warnings.js";
import { freePort } from "../src/util/net.js";
import { packageRoot } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";
import { makeResult } from "./helpers/result-fixture.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-usability-"));
});

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`;

describe("--help states the tolerances the gate judges with", () => {
  it.each(["run", "compare"])("rtbench %s --help", async (command) => {
    const { stdout, code } = await runRtbench([command, "--help"]);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, " ");
    const timing = listMetrics().find((m) => m.kind === "timing" && m.path === "latency.p50");
    expect(help).toContain(`tolerance (${percent(toleranceFor(timing as never, "", undefined))};`);
    // Every metric with a tolerance of its own is named with it, as the gate applies it.
    for (const metric of listMetrics()) {
      if (metric.kind !== "timing" && metric.kind !== "rate") continue;
      const own = toleranceFor(metric, "", undefined);
      const kindDefault = toleranceFor({ ...metric, path: "" }, "", undefined);
      if (own !== kindDefault) expect(help).toContain(`${metric.path} ${percent(own)}`);
    }
    expect(help).not.toContain("server CPU 25%");
  });
});

describe("rtbench init", () => {
  it("says target: URL is for reference-protocol servers and points at protocol: custom", async () => {
    const project = await mkdtemp(join(dir, "init-"));
    const run = await runRtbench(["init"], { cwd: project });
    expect(run.code, run.stderr).toBe(0);
    const text = (await readFile(join(project, "scenario.yaml"), "utf8")).replace(/\s*#\s*/g, " ");
    expect(text).toContain("`target: http://host:port` works only for a server that speaks");
    expect(text).toContain("protocol: custom");
    expect(text).toContain("docs/own-server.md");
  });

  it("--ci next to an existing scenario adds the workflow without --force", async () => {
    const project = await mkdtemp(join(dir, "init-ci-"));
    const mine = "name: mine\nprotocols: [websocket]\n";
    await writeFile(join(project, "mine.yaml"), mine);
    const run = await runRtbench(["init", "mine", "--ci"], { cwd: project });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("kept mine.yaml");
    expect(await readFile(join(project, "mine.yaml"), "utf8")).toBe(mine);
    const workflow = await readFile(join(project, ".github/workflows/rtbench.yml"), "utf8");
    expect(workflow).toContain("SCENARIO_FILE: mine.yaml");
    // The workflow itself is not overwritten without --force.
    const again = await runRtbench(["init", "mine", "--ci"], { cwd: project });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(".github/workflows/rtbench.yml already exists");
  });
});

describe("warnings about what is valid but not meant", () => {
  const base = [
    "name: w",
    "protocols: [websocket]",
    "clients: { count: 4, channels: 2, rampUp: 1s }",
    "duration: 10s",
    "warmup: 2s",
    "drain: 1s",
  ].join("\n");

  it("a fault outside the measured window, by its at or by --duration", () => {
    const scenario = parseScenario(
      `${base}\nfaults:\n  - { at: 500ms, action: restart, instance: 0 }\n  - { at: 5s, action: stall, instance: 0, for: 1s }\n  - { at: 11500ms, action: drop, fraction: 0.5 }\n  - { at: 12s, action: restart, instance: 0 }`,
      "w.yaml",
    );
    const warnings = scenarioWarnings(scenario);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^fault restart at 500ms is over before the measured window/);
    expect(warnings[0]).toContain("the measured window is 3s to 11s from the start of ramp-up");
    expect(warnings[1]).toMatch(/^fault drop at 11s500ms fires after the measured window/);
    expect(warnings[2]).toMatch(/^fault restart at 12s never fires: the run ends at 12s/);
    // --duration 5s moves the window's end: the stall at 5s is now after it.
    const shorter = parseScenario(
      `${base}\nfaults:\n  - { at: 5s, action: stall, instance: 0, for: 1s }`,
      "w.yaml",
      { durationMs: 4000 },
    );
    expect(scenarioWarnings(shorter)).toEqual([
      expect.stringMatching(/^fault stall at 5s fires after the measured window: .* 3s to 5s /),
    ]);
  });

  it("validate warns when target.command has no {port} and rtbench picks one", async () => {
    const file = join(dir, "noport.yaml");
    await writeFile(
      file,
      `${base}\ntarget: { command: "node server.js --port 8080", health: /healthz }\n`,
    );
    const run = await runRtbench(["validate", file]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `warning: ${file}: target.command has no {port}: rtbench picks a free port`,
    );
    const withPort = join(dir, "port.yaml");
    await writeFile(
      withPort,
      `${base}\ntarget: { command: "node server.js --port {port}", health: /healthz }\n`,
    );
    expect((await runRtbench(["validate", withPort])).stderr).not.toContain("warning");
  });
});

/** A target that can never answer fails before the run, fast, with the reason. */
describe("targets that cannot work", () => {
  const workload = [
    "clients: { count: 4, channels: 2, rampUp: 200ms, shards: 1 }",
    "publish: { rate: 10/s }",
    "duration: 2s",
    "warmup: 500ms",
    "drain: 500ms",
  ].join("\n");

  it("a running custom target on a closed port: exit 3 at once, not a whole INVALID run", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const file = join(dir, "closed.yaml");
    await writeFile(
      file,
      [
        "name: closed",
        "protocols: [sse]",
        "target:",
        `  url: ${url}`,
        "  protocol: custom",
        '  publish: { method: POST, path: "/publish/{channel}", body: \'{"data":{body}}\' }',
        '  sse: { path: "/events/{channel}" }',
        '  message: { body: "/data" }',
        workload,
      ].join("\n"),
    );
    const run = await runRtbench(["run", file, "--out", join(dir, "closed-out")]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(`${url}: no TCP connection (connection refused for 2000 ms`);
    expect(run.stderr).not.toContain("invalid run");
    expect(run.elapsedMs).toBeLessThan(15_000);
  });

  it("a command that fails shows what it printed on stdout with its stderr", async () => {
    const file = join(dir, "stdout.yaml");
    await writeFile(
      file,
      [
        "name: stdout",
        "protocols: [websocket]",
        "target:",
        `  command: "echo 'fatal: cannot listen on {port} (printed on stdout)'; echo 'and on stderr' >&2; exit 1"`,
        workload,
      ].join("\n"),
    );
    const run = await runRtbench(["run", file, "--out", join(dir, "stdout-out")]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /exited with code 1 before .*: fatal: cannot listen on \d+ \(printed on stdout\)\nand on stderr/,
    );
  });

  it("the Socket.IO example without socket.io says how to install it", async () => {
    // A copy outside rtbench's folder resolves packages as a project without socket.io would.
    const project = await mkdtemp(join(dir, "no-socketio-"));
    await writeFile(join(project, "package.json"), '{"type":"module"}\n');
    await copyFile(
      join(packageRoot, "examples", "targets", "socketio-server.js"),
      join(project, "socketio-server.js"),
    );
    const file = join(dir, "socketio.yaml");
    await writeFile(
      file,
      [
        "name: socketio",
        "protocols: [websocket]",
        "target:",
        "  protocol: socketio",
        `  command: "node ${join(project, "socketio-server.js")} --port {port}"`,
        "  health: /healthz",
        workload,
      ].join("\n"),
    );
    const run = await runRtbench(["run", file, "--out", join(dir, "sio-out")]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("needs the socket.io package");
    expect(run.stderr).toContain("npm install socket.io");
    expect(run.stderr).not.toContain("ERR_MODULE_NOT_FOUND");
  });
});

describe("small words that matter", () => {
  it("compare shows float residue as 0%, not -0.0000000000000666%", () => {
    const baseline = makeResult({ protocols: { websocket: {} } });
    const current = structuredClone(baseline);
    (baseline.protocols.websocket as { bytesPerDelivery: number }).bytesPerDelivery = 0.1 + 0.2;
    (current.protocols.websocket as { bytesPerDelivery: number }).bytesPerDelivery = 0.3;
    const row = compareResults(baseline, current).rows.find(
      (r) => r.metric === "websocket.bytesPerDelivery",
    );
    expect(row?.changePct).toBe(0);
    expect(formatChange(row as ComparisonRow)).toBe("0%");
    expect(changePct(100, 101)).toBeCloseTo(1, 10);
  });

  it("the progress line counts deliveries per second", () => {
    const line = new ProgressLine();
    const progress = {
      protocol: "websocket",
      phase: "measuring" as const,
      elapsedMs: 5000,
      totalMs: 10_000,
      open: 10,
      clients: 10,
      received: 100,
    };
    line.format(progress, 1000);
    expect(line.format({ ...progress, received: 600 }, 2000)).toMatch(/ 500 deliveries\/s$/);
  });

  it("variants[].name says the rule, and a missing baseline how to make one", async () => {
    const file = join(dir, "variant.yaml");
    await writeFile(file, "name: v\nprotocols: [websocket]\nvariants:\n  - name: Sticky_One\n");
    const invalid = await runRtbench(["validate", file]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(
      'variants[0].name: expected lower-case words with dashes (a-z, 0-9 and -, up to 24 characters, not starting with a dash), like sticky or redis-2, found "Sticky_One"',
    );
    const missing = await runRtbench(["run", "quickstart", "--baseline", join(dir, "base.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("base.json does not exist; make a baseline first");
    expect(missing.stderr).toContain(`rtbench run quickstart --repeat 3 --out ${dir}`);
  });
});
