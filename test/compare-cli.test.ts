import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compiledEntry, packageRoot } from "../src/util/paths.js";
import { latencySamples, makeResult } from "./helpers/result-fixture.js";

// Runs the real bin/ against dist/ (built by `npx tsc -p tsconfig.json`), as a user would.
const BIN = join(packageRoot, "bin", "rtbench.js");

function rtbench(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("rtbench compare (CLI)", () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(() => {
    compiledEntry("src/cli/commands/compare.js"); // fails with "run npm run build first" if dist/ is stale
    dir = mkdtempSync(join(tmpdir(), "rtbench-compare-"));
    const fast = latencySamples(21, 3000, 2);
    const baseline = makeResult({
      protocols: { websocket: { latencyMs: fast }, sse: { latencyMs: fast } },
    });
    const slower = makeResult({
      protocols: { websocket: { latencyMs: fast.map((v) => v * 10) }, sse: { latencyMs: fast } },
    });
    writeFileSync(file("baseline.json"), JSON.stringify(baseline));
    writeFileSync(file("slower.json"), JSON.stringify(slower));
    writeFileSync(file("garbage.json"), "{ this is not json");
    writeFileSync(
      file("not-a-result.json"),
      JSON.stringify({ schemaVersion: 1, protocols: { websocket: {} } }),
    );
    const otherScenario = {
      ...baseline,
      scenario: { ...baseline.scenario, sha256: "b".repeat(64) },
    };
    writeFileSync(file("other-scenario.json"), JSON.stringify(otherScenario));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("compare --format html draws both runs' curves per transport and still exits 1 on a regression", () => {
    const page = rtbench("compare", file("baseline.json"), file("slower.json"), "--format", "html");
    expect(page.code, page.stderr).toBe(1);
    expect(page.stdout).toMatch(/^<!doctype html>/);
    for (const id of ["latency-sse", "latency-websocket"]) {
      expect(page.stdout).toContain(`data-chart="${id}"`);
    }
    expect(page.stdout).toContain(">REGRESSED<");
    expect(page.stderr).toContain("regressed against");
  });

  it("report renders a saved result as HTML, and refuses a file that is not a result", () => {
    const html = rtbench("report", file("baseline.json"), "--format", "html");
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout).toContain("<td>latency p99 ms</td>");
    const table = rtbench("report", file("baseline.json"));
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/SSE\s+WebSocket/);
    const bad = rtbench("report", file("garbage.json"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("garbage.json");
  });

  it("exits 1 and names the metric when a metric regressed", () => {
    const summary = file("summary.md");
    const { code, stdout, stderr } = rtbench(
      "compare",
      file("baseline.json"),
      file("slower.json"),
      "--summary",
      summary,
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/websocket\.latency\.p50 .* REGRESSED/);
    expect(stdout).not.toMatch(/sse\.latency\.p50 .* REGRESSED/);
    expect(stderr).toMatch(/error: \d+ metrics? regressed/);
    expect(stderr).toContain("websocket.latency.p50:");
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readFileSync(summary, "utf8")).toContain("| `websocket.latency.p50` |");
  });

  it("exits 0 comparing a result with itself, and --json prints the comparison", () => {
    const { code, stdout } = rtbench("compare", file("baseline.json"), file("baseline.json"));
    expect(code).toBe(0);
    expect(stdout).toContain("no regression");
    const json = rtbench("compare", file("baseline.json"), file("baseline.json"), "--json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).regressions).toEqual([]);
  });

  it("honours --tolerance", () => {
    const { code } = rtbench(
      "compare",
      file("baseline.json"),
      file("slower.json"),
      "--tolerance",
      "timing=2000%",
    );
    expect(code).toBe(0);
  });

  it("exits 2 on a garbage file, a non-result and a different scenario", () => {
    const garbage = rtbench("compare", file("baseline.json"), file("garbage.json"));
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain("garbage.json: expected an rtbench result (JSON)");
    const notResult = rtbench("compare", file("not-a-result.json"), file("baseline.json"));
    expect(notResult.code).toBe(2);
    expect(notResult.stderr).toMatch(
      /not-a-result\.json is not an rtbench result \(\d+ problems\)/,
    );
    expect(notResult.stderr).toContain("(top level): missing tool");
    const missing = rtbench("compare", file("baseline.json"), file("nope.json"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read the result file (ENOENT)");
    const other = rtbench("compare", file("baseline.json"), file("other-scenario.json"));
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("different scenarios");
    expect(
      rtbench("compare", file("baseline.json"), file("baseline.json"), "--tolerance", "x").code,
    ).toBe(2);
  });

  it("lists metric names with `rtbench metrics`", () => {
    const { code, stdout } = rtbench("metrics");
    expect(code).toBe(0);
    expect(stdout).toMatch(/latency\.p99\s+ms\s+timing\s+lower/);
    expect(stdout).toMatch(/lost\s+count\s+exact\s+lower/);
  });
});
