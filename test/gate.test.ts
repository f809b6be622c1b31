import { describe, expect, it } from "vitest";
import {
  checkBaselineFor,
  evaluateGate,
  parseJudgeFlags,
  parseTolerances,
} from "../src/gate/gate.js";
import { medianResult } from "../src/gate/repeat.js";
import { renderSpreadMarkdown, renderSpreadTable, spreadRows } from "../src/report/spread.js";
import { parseScenario } from "../src/scenario/load.js";
import { thresholdProblems } from "../src/scenario/thresholds.js";
import type { Scenario } from "../src/scenario/types.js";
import { RtbenchError } from "../src/shared/errors.js";
import { latencySamples, makeResult, SCENARIO_SHA } from "./helpers/result-fixture.js";

function scenarioWith(
  sha256: string,
  yaml = "protocols: [websocket, sse]\nduration: 30s\n",
): Scenario {
  const scenario = parseScenario(yaml, "fixture.yaml");
  return { ...scenario, source: { file: "fixture.yaml", sha256 } };
}

describe("thresholdProblems", () => {
  it("writes paths the way the scenario loader writes every other path", () => {
    const problems = thresholdProblems({
      "websocket.latncy.p99": "< 5ms",
      "*.lost": "< 5ms",
      "sse.lost": ["== 0", "lots"],
      latency: "< 5ms",
    });
    expect(problems.map(({ path, entryPath }) => [path, entryPath])).toEqual([
      ['thresholds["websocket.latncy.p99"]', 'thresholds["websocket.latncy.p99"]'],
      ['thresholds["*.lost"]', 'thresholds["*.lost"]'],
      ['thresholds["sse.lost"][1]', 'thresholds["sse.lost"]'],
      ["thresholds.latency", "thresholds.latency"],
    ]);
    expect(problems[0]?.text).toBe("unknown metric (see `rtbench metrics`)");
  });
});

describe("parseTolerances", () => {
  it("accepts kinds, metric paths and full metric names", () => {
    expect(
      parseTolerances(["timing=20%", "rate=0.05", "latency.p99=30%", "sse.connect.p95=50%"]),
    ).toEqual({ timing: 0.2, rate: 0.05, "latency.p99": 0.3, "sse.connect.p95": 0.5 });
  });

  it.each([
    ["timng=10%", '"timng"'],
    ["websockets.latency.p99=10%", '"websockets.latency.p99"'],
    ["latency.p98=10%", '"latency.p98"'],
    ["timing", 'found "timing"'],
  ])("rejects %s as bad input", (flag, named) => {
    let error: unknown;
    try {
      parseTolerances([flag]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RtbenchError);
    expect((error as RtbenchError).code).toBe("BAD_INPUT");
    expect((error as RtbenchError).message).toContain(named);
  });
});

describe("parseJudgeFlags", () => {
  it("reads comma-separated and repeated flags, and refuses unknown metrics", () => {
    expect(parseJudgeFlags(["latency.p95,websocket.latency.max", "*.connect.p50"])).toEqual([
      { protocol: null, path: "latency.p95" },
      { protocol: "websocket", path: "latency.max" },
      { protocol: null, path: "connect.p50" },
    ]);
    expect(() => parseJudgeFlags(["latency.p98"])).toThrow(/--judge: expected a metric/);
  });
});

describe("evaluateGate", () => {
  const fast = latencySamples(3, 2000, 2);
  const baseline = makeResult({ protocols: { websocket: { latencyMs: fast } } });
  const slower = makeResult({
    protocols: { websocket: { latencyMs: fast.map((v) => v * 4) } },
  });

  it("records nothing and passes when there is no threshold and no baseline", () => {
    const gate = evaluateGate(baseline, { thresholds: {} });
    expect(gate.record).toEqual({ passed: true });
    expect(gate.outcomes).toBeNull();
    expect(gate.comparison).toBeNull();
  });

  it("fails on a failed threshold and keeps every outcome", () => {
    const gate = evaluateGate(slower, {
      thresholds: { "websocket.latency.p99": "< 1ms", "*.lost": "== 0" },
    });
    expect(gate.record.passed).toBe(false);
    expect(gate.record.thresholds?.passed).toBe(false);
    expect(gate.record.thresholds?.outcomes.map((o) => [o.metric, o.pass])).toEqual([
      ["websocket.latency.p99", false],
      ["websocket.lost", true],
    ]);
  });

  it("fails on a regression against the baseline, passes against itself", () => {
    const regressed = evaluateGate(slower, {
      thresholds: {},
      baseline: { file: "base.json", result: baseline },
    });
    expect(regressed.record.passed).toBe(false);
    expect(regressed.record.comparison?.baseline).toBe("base.json");
    expect(regressed.comparison?.regressions.map((r) => r.metric)).toContain(
      "websocket.latency.p50",
    );
    const same = evaluateGate(baseline, {
      thresholds: { "*.lost": "== 0" },
      baseline: { file: "base.json", result: baseline },
    });
    expect(same.record.passed).toBe(true);
    expect(same.record.comparison?.passed).toBe(true);
  });

  it("honours tolerances", () => {
    const tolerant = evaluateGate(slower, {
      thresholds: {},
      baseline: { file: "base.json", result: baseline },
      compare: { tolerances: parseTolerances(["timing=1000%"]) },
    });
    expect(tolerant.record.passed).toBe(true);
  });
});

describe("checkBaselineFor", () => {
  const baseline = makeResult({ protocols: { websocket: {} } });

  it("refuses a baseline of another scenario before the run", () => {
    expect(() => checkBaselineFor(scenarioWith("b".repeat(64)), baseline, "base.json")).toThrow(
      /base\.json: expected a baseline of fixture\.yaml, found a result of another scenario/,
    );
  });

  it("refuses a baseline that shares no protocol with the scenario", () => {
    const sseOnly = makeResult({ protocols: { sse: {} } });
    const scenario = scenarioWith(SCENARIO_SHA, "protocols: [websocket]\n");
    expect(() => checkBaselineFor(scenario, sseOnly, "base.json")).toThrow(
      /expected a baseline with at least one of websocket, found only sse/,
    );
  });

  it("warns when the durations differ (a --duration override)", () => {
    expect(checkBaselineFor(scenarioWith(SCENARIO_SHA), baseline, "base.json")).toEqual([]);
    const shorter = scenarioWith(SCENARIO_SHA, "protocols: [websocket]\nduration: 10s\n");
    expect(checkBaselineFor(shorter, baseline, "base.json")).toEqual([
      "baseline ran for 30s, this run for 10s (--duration?): counts differ and timings may too",
    ]);
  });
});

describe("spread reporters", () => {
  const runs = [1, 3, 2].map((factor) =>
    makeResult({
      protocols: { websocket: { latencyMs: latencySamples(5, 1000, 2).map((v) => v * factor) } },
    }),
  );
  const { spread } = medianResult(runs);

  it("shows the median and the range of the headline metrics", () => {
    const rows = spreadRows(spread);
    const p99 = spread["websocket.latency.p99"];
    expect(p99?.runs).toBe(3);
    const row = rows.find((r) => r.metric === "websocket.latency.p99");
    expect(row?.median).toMatch(/ ms$/);
    expect(row?.range).toMatch(/^\S+ ms \.\. \S+ ms$/);
    expect(rows.find((r) => r.metric === "websocket.lost")).toEqual({
      metric: "websocket.lost",
      median: "0",
      range: "0 .. 0",
      spread: "0%",
    });
    // Not a headline metric: in the JSON, not in the table.
    expect(rows.some((r) => r.metric === "websocket.latency.p95")).toBe(false);
  });

  it("renders a plain table and Markdown naming the number of runs", () => {
    const table = renderSpreadTable(spread);
    expect(table.split("\n")[0]).toBe("medians of 3 runs, with the range across runs");
    expect(table).toMatch(/websocket\.latency\.p50\s+\S+ ms\s+\S+ ms \.\. \S+ ms\s+\S+%/);
    const markdown = renderSpreadMarkdown(spread);
    expect(markdown).toContain("### Medians of 3 runs");
    expect(markdown).toContain("| `websocket.lost` | 0 | 0 .. 0 | 0% |");
  });
});
