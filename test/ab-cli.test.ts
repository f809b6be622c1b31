/**
 * `rtbench ab` end to end: the real CLI starts two real reference servers
 * (built ones, as a user's two builds would be), runs the scenario against
 * each, interleaved, and judges the candidate with the repeat test.
 */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "../src/metrics/types.js";
import { readTargetPlace, withTargetPlace } from "../src/scenario/target-place.js";
import { packageRoot } from "../src/util/paths.js";
import { runRtbench } from "./helpers/cli.js";

const SERVER = `node ${join(packageRoot, "dist", "reference-server", "main.js")} --port {port}`;

let dir: string;
let scenario: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-ab-"));
  scenario = join(dir, "ab.yaml");
  // A server section is for the bundled server: ab leaves it out and uses the two targets.
  await writeFile(
    scenario,
    [
      "name: ab",
      "protocols: [websocket]",
      "server: { heartbeatInterval: 10s }",
      "target: { health: /healthz }",
      "clients: { count: 20, channels: 2, rampUp: 200ms }",
      "publish: { rate: 20/s }",
      // A 2 s window (4 s before; 2 s less for each of an ab run's six runs): a 100 ms delay
      // moves every run's median of ~400 deliveries by 100 ms, far more than a busy machine does.
      "duration: 2500ms",
      "warmup: 500ms",
      "drain: 500ms",
    ].join("\n"),
  );
});

describe("target places from the command line", () => {
  it("a URL replaces where the target is and drops what only a started server has", () => {
    const document = {
      server: { instances: 2 },
      target: { protocol: "nchan", command: "nginx", instances: 2, health: "/h", url: "x" },
    };
    expect(withTargetPlace(document, readTargetPlace("http://127.0.0.1:9000"))).toEqual({
      target: { protocol: "nchan", url: "http://127.0.0.1:9000" },
    });
    expect(withTargetPlace(document, readTargetPlace("nginx -c {dir}/b.conf"))).toEqual({
      target: { protocol: "nchan", command: "nginx -c {dir}/b.conf", instances: 2, health: "/h" },
    });
    expect(withTargetPlace({ target: "http://a" }, readTargetPlace("./serve {port}"))).toEqual({
      target: { command: "./serve {port}" },
    });
  });
});

describe("rtbench ab", () => {
  // 100 ms, not 30: other test files share the machine, and a few seconds of a busy
  // machine make a single run's own noise tens of ms wide (the gate-noise test shows 30 ms).
  it("runs both sides interleaved and fails a candidate that delivers 100 ms later", async () => {
    const out = join(dir, "regressed");
    const outcome = await runRtbench(
      [
        "ab",
        scenario,
        "--baseline-target",
        SERVER,
        "--candidate-target",
        `${SERVER} --delivery-delay-ms 100`,
        "--rounds",
        "3",
        "--out",
        out,
      ],
      { timeoutMs: 150_000 },
    );
    expect(outcome.stderr).toContain("ab: round 3 of 3, baseline");
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/websocket\.latency\.p50 .* REGRESSED/);
    expect(outcome.stderr).toMatch(/websocket\.latency\.p50: [\d.]+ ms -> [\d.]+ ms/);

    // The order alternates: baseline first in odd rounds, candidate first in even ones.
    const order = [...outcome.stderr.matchAll(/round (\d) of 3, (\w+)/g)].map((m) => m[2]);
    expect(order).toEqual([
      "baseline",
      "candidate",
      "candidate",
      "baseline",
      "baseline",
      "candidate",
    ]);
    const files = (await readdir(out)).sort();
    expect(files.filter((f) => f.includes("-run"))).toHaveLength(6);
    const medians = files.filter((f) => f.endsWith("-median.json"));
    expect(medians).toHaveLength(2);
    const candidate = JSON.parse(
      await readFile(join(out, medians.find((f) => f.includes("candidate")) as string), "utf8"),
    ) as RunResult & { repeat: { runs: number } };
    expect(candidate.repeat.runs).toBe(3);
    expect(candidate.setup.target?.length).toBe(1);
    expect(candidate.protocols.websocket?.lost).toBe(0);
  }, 160_000);

  // The same server on both sides: no regression. The run flags are run's own (--protocols,
  // --duration), and the scenario's thresholds are judged on both sides: a threshold every
  // run fails makes ab exit 1 (one ab run checks all three, to keep the suite short).
  it("same server on both sides: no regression, run's flags, thresholds judged on both", async () => {
    const gated = join(dir, "gated.yaml");
    await writeFile(
      gated,
      `${await readFile(scenario, "utf8")}\nthresholds:\n  "*.lost": "== 0"\n  "*.delivered": "== 0"\n`,
    );
    const out = join(dir, "gated");
    const outcome = await runRtbench(
      [
        "ab",
        gated,
        "--baseline-target",
        SERVER,
        "--candidate-target",
        SERVER,
        "--protocols",
        "sse",
        "--duration",
        "1500ms",
        "--out",
        out,
        "--quiet",
      ],
      { timeoutMs: 150_000 },
    );
    expect(outcome.stdout).toMatch(/no regression in \d+ judged metrics/);
    expect(outcome.stderr).not.toContain("regressed");
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain("error: the candidate fails 1 of the scenario's threshold");
    expect(outcome.stderr).toContain("note: the baseline fails 1 of the scenario's threshold");
    expect(outcome.stdout).toMatch(/candidate: thresholds[\s\S]*sse\.delivered/);
    const files = await readdir(out);
    const median = JSON.parse(
      await readFile(
        join(out, files.find((f) => f.endsWith("-candidate-median.json")) as string),
        "utf8",
      ),
    ) as RunResult & { gate: { passed: boolean } };
    expect(Object.keys(median.protocols)).toEqual(["sse"]);
    expect(median.setup.durationMs).toBe(1500);
    expect(median.gate.passed).toBe(false);
  }, 160_000);

  it("refuses bad flags before anything runs (exit 2)", async () => {
    const both = ["ab", scenario, "--baseline-target", SERVER, "--candidate-target", SERVER];
    const rounds = await runRtbench([...both, "--rounds", "0"]);
    expect(rounds.code).toBe(2);
    expect(rounds.stderr).toContain("--rounds: expected a whole number of runs per side");
    // One or two rounds cannot give the rank test a significant answer: refused with the reason.
    const few = await runRtbench([...both, "--rounds", "1"]);
    expect(few.code).toBe(2);
    expect(few.stderr).toContain("--rounds: expected at least 3 runs per side, found 1");
    expect(few.stderr).toContain("smallest p-value with 1 against 1 is 0.50");
    const flags = await runRtbench([...both, "--protocols", "websockets"]);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain("--protocols: expected a comma-separated list of");
    const missing = await runRtbench(["ab", scenario, "--baseline-target", SERVER]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--candidate-target");
  });
});
