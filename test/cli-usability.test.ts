/**
 * What a new user reads before and around a run: the help's tolerances,
 * `init`'s comments and `init --ci`, and the small messages that say what
 * to do next. The real bin in its own process.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { toleranceFor } from "../src/gate/judged.js";
import { listMetrics } from "../src/metrics/names.js";
import { runRtbench } from "./helpers/cli.js";

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
