import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatedResult } from "../src/gate/gate.js";
import { compiledEntry } from "../src/util/paths.js";
import { type CliOutcome, runRtbench } from "./helpers/cli.js";

// The CI gate as a user meets it: the real bin/ (compiled dist/, built by
// `npx tsc -p tsconfig.json`) running tiny WebSocket scenarios.
function rtbench(...args: string[]): Promise<CliOutcome> {
  return runRtbench(args);
}

/** A few seconds of light WebSocket load: enough for every metric to exist. */
function scenario(name: string, thresholds: Record<string, string>): string {
  const lines = Object.entries(thresholds).map(
    ([key, condition]) => `  ${JSON.stringify(key)}: ${JSON.stringify(condition)}`,
  );
  return [
    `name: ${name}`,
    "protocols: [websocket]",
    "clients: { count: 20, channels: 2, rampUp: 500ms }",
    "publish: { rate: 20/s }",
    "duration: 2s",
    "warmup: 500ms",
    "drain: 1s",
    "thresholds:",
    ...lines,
    "",
  ].join("\n");
}

function resultFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
}

function readResult(file: string): GatedResult {
  return JSON.parse(readFileSync(file, "utf8")) as GatedResult;
}

describe("rtbench run: the CI gate", () => {
  let dir: string;
  const path = (name: string) => join(dir, name);
  let passingResult: GatedResult | undefined;

  beforeAll(() => {
    compiledEntry("src/cli/commands/run.js"); // fails with "run npm run build first" if dist/ is stale
    dir = mkdtempSync(join(tmpdir(), "rtbench-gate-"));
    writeFileSync(
      path("fail.yaml"),
      scenario("gate-fail", { "websocket.latency.p99": "< 0.001ms", "*.lost": "== 0" }),
    );
    writeFileSync(
      path("pass.yaml"),
      scenario("gate-pass", { "websocket.latency.p99": "< 10s", "*.lost": "== 0" }),
    );
    writeFileSync(path("typo.yaml"), scenario("gate-typo", { "websocket.latncy.p99": "< 50ms" }));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 1 naming the metric when a threshold cannot pass", async () => {
    const out = path("out-fail");
    const { code, stdout, stderr } = await rtbench("run", path("fail.yaml"), "--out", out);
    expect(code).toBe(1);
    expect(stdout).toMatch(/websocket\.latency\.p99\s+< 0\.001ms\s+\S+ ms\s+FAIL/);
    expect(stdout).toMatch(/websocket\.lost\s+== 0\s+0\s+pass/);
    expect(stderr).toContain("error: 1 of 2 thresholds failed");
    expect(stderr).toMatch(/ {2}websocket\.latency\.p99: \S+ ms, expected < 0\.001ms/);
    expect(stderr).not.toMatch(/\n\s+at /);
    const [file] = resultFiles(out);
    const gate = readResult(join(out, file as string)).gate;
    expect(gate?.passed).toBe(false);
    expect(gate?.thresholds?.outcomes.map((o) => [o.metric, o.pass])).toEqual([
      ["websocket.latency.p99", false],
      ["websocket.lost", true],
    ]);
  });

  it("exits 0 when every threshold passes, with the verdicts in the result JSON", async () => {
    const out = path("out-pass");
    const { code, stdout, stderr } = await rtbench("run", path("pass.yaml"), "--out", out);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("all 2 thresholds passed");
    expect(stderr).not.toContain("error:");
    const files = resultFiles(out);
    expect(files).toHaveLength(1);
    passingResult = readResult(join(out, files[0] as string));
    expect(passingResult.gate?.passed).toBe(true);
    expect(passingResult.gate?.thresholds?.outcomes).toHaveLength(2);
  });

  it("rejects a threshold typo with exit 2 in validate and in run, before anything starts", async () => {
    const expected = 'thresholds["websocket.latncy.p99"]: unknown metric (see `rtbench metrics`)';
    const validate = await rtbench("validate", path("typo.yaml"));
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(expected);

    const out = path("out-typo");
    const run = await rtbench("run", path("typo.yaml"), "--out", out);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${path("typo.yaml")} is invalid (1 problem)`);
    expect(run.stderr).toContain(expected);
    expect(run.stdout).toBe("");
    // Nothing ran: no result written, and far quicker than the shortest run (a generous bound).
    expect(existsSync(out)).toBe(false);
    expect(run.elapsedMs).toBeLessThan(5_000);
  });

  it("exits 1 naming the metric when the baseline's latency is clearly better", async () => {
    expect(passingResult, "needs the passing run above").toBeDefined();
    const baseline = structuredClone(passingResult as GatedResult);
    const latency = baseline.protocols.websocket?.latency;
    if (latency === undefined) throw new Error("the passing run has no websocket latency");
    latency.p50 = 0.01;
    latency.p90 = 0.01;
    latency.p99 = 0.01;
    writeFileSync(path("better-baseline.json"), JSON.stringify(baseline));
    const summary = path("summary.md");
    writeFileSync(summary, "# earlier step\n");

    const out = path("out-baseline");
    const { code, stdout, stderr } = await rtbench(
      "run",
      path("pass.yaml"),
      "--out",
      out,
      "--baseline",
      path("better-baseline.json"),
      "--summary",
      summary,
      // Without the 1 ms floor a regression does not hang on how fast this machine is today.
      "--timing-floor",
      "0",
    );
    expect(code, stderr).toBe(1);
    expect(stdout).toMatch(
      /websocket\.latency\.p50\s+0\.01 ms\s+\S+ ms\s+\S+%\s+allows \+\S+ ms\s+REGRESSED/,
    );
    // Two single runs cannot judge a tail: shown with the reason.
    expect(stdout).toMatch(/websocket\.latency\.p99\s+0\.01 ms\s+.*needs --repeat\s+worse/);
    expect(stderr).toContain(`regressed against ${path("better-baseline.json")}`);
    expect(stderr).toMatch(/ {2}websocket\.latency\.p50: 0\.01 ms -> \S+ ms/);

    const markdown = readFileSync(summary, "utf8");
    expect(markdown.startsWith("# earlier step\n")).toBe(true); // appended, not overwritten
    expect(markdown).toContain("### Thresholds");
    expect(markdown).toMatch(/`websocket\.latency\.p50` \| 0\.01 ms \|.*REGRESSED/);

    const [file] = resultFiles(out);
    const gate = readResult(join(out, file as string)).gate;
    expect(gate?.thresholds?.passed).toBe(true);
    expect(gate?.comparison?.passed).toBe(false);
    const p50 = gate?.comparison?.rows.find((r) => r.metric === "websocket.latency.p50");
    expect(p50?.verdict).toBe("regressed");
  });

  it("exits 2 before the run on a baseline of another workload", async () => {
    expect(passingResult, "needs the passing run above").toBeDefined();
    // pass.yaml and fail.yaml differ only in thresholds, which a baseline may; a
    // baseline that measured more clients may not be compared.
    const other = structuredClone(passingResult as GatedResult);
    const workload = other.scenario.workload;
    expect(workload, "the passing run records its workload").toBeDefined();
    if (workload) {
      workload.fields["clients.count"] = Number(workload.fields["clients.count"]) + 1;
      workload.sha256 = "0".repeat(64);
    }
    writeFileSync(path("pass-baseline.json"), JSON.stringify(other));
    const out = path("out-other");
    const { code, stderr } = await rtbench(
      "run",
      path("fail.yaml"),
      "--out",
      out,
      "--baseline",
      path("pass-baseline.json"),
    );
    expect(code).toBe(2);
    expect(stderr).toContain("found a result of another workload");
    expect(stderr).toMatch(/clients\.count: \d+ -> \d+/);
    expect(existsSync(out)).toBe(false);
  });

  it("--repeat 3 gates on medians, shows the spread and writes 3 runs plus the median", async () => {
    const out = path("out-repeat");
    const { code, stdout, stderr } = await rtbench(
      "run",
      path("pass.yaml"),
      "--out",
      out,
      "--repeat",
      "3",
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("run 3 of 3");
    expect(stdout).toContain("medians of 3 runs");
    expect(stdout).toMatch(/websocket\.latency\.p99\s+\S+ ms\s+\S+ ms \.\. \S+ ms\s+\S+%/);
    expect(stdout).toContain("all 2 thresholds passed");

    const files = resultFiles(out).sort();
    expect(files.filter((f) => /-run[123]\.json$/.test(f))).toHaveLength(3);
    const medians = files.filter((f) => f.endsWith("-median.json"));
    expect(medians).toHaveLength(1);
    expect(files).toHaveLength(4);

    const median = readResult(join(out, medians[0] as string));
    const runs = files
      .filter((f) => f.includes("-run"))
      .map((f) => readResult(join(out, f)).protocols.websocket?.latency.p99 as number)
      .sort((a, b) => a - b);
    const spread = median.repeat?.spread["websocket.latency.p99"];
    expect(median.repeat?.runs).toBe(3);
    expect(spread).toMatchObject({ median: runs[1], min: runs[0], max: runs[2], runs: 3 });
    // Every run's value, in run order, for a later statistical comparison.
    expect([...(spread?.values ?? [])].sort((a, b) => a - b)).toEqual(runs);
    expect(median.protocols.websocket?.latency.p99).toBe(runs[1]);
    expect(median.gate?.passed).toBe(true);
  });
});
