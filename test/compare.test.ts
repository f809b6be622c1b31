import { describe, expect, it } from "vitest";
import { compareResults, medianResult, parseTolerance } from "../src/gate/compare.js";
import { getMetric } from "../src/metrics/names.js";
import { RtbenchError } from "../src/shared/errors.js";
import { latencySamples, makeResult } from "./helpers/result-fixture.js";

const fast = latencySamples(11, 5000, 2);
const slow = fast.map((v) => v * 3);

function rowsOf(comparison: ReturnType<typeof compareResults>, verdict: string): string[] {
  return comparison.rows.filter((r) => r.verdict === verdict).map((r) => r.metric);
}

describe("compareResults", () => {
  it("flags a clearly slower latency as regressed, naming the metric", () => {
    const baseline = makeResult({ protocols: { websocket: { latencyMs: fast } } });
    const current = makeResult({ protocols: { websocket: { latencyMs: slow } } });
    const comparison = compareResults(baseline, current);
    const regressed = rowsOf(comparison, "regressed");
    expect(regressed).toContain("websocket.latency.p99");
    expect(regressed).toContain("websocket.latency.p50");
    expect(comparison.regressions.length).toBe(regressed.length);
    const row = comparison.rows.find((r) => r.metric === "websocket.latency.p99");
    expect(row?.changePct).toBeGreaterThan(150);
    // The other way round it is an improvement.
    expect(rowsOf(compareResults(current, baseline), "better")).toContain("websocket.latency.p99");
  });

  it("finds no regression comparing a result with itself", () => {
    const result = makeResult();
    const comparison = compareResults(result, structuredClone(result));
    expect(comparison.regressions).toEqual([]);
    expect(comparison.rows.every((r) => r.verdict === "ok")).toBe(true);
    expect(comparison.rows.some((r) => r.metric === "short-poll.emptyPollShare")).toBe(true);
    expect(comparison.warnings).toEqual([]);
  });

  it("treats changes within tolerance, and small timing changes under the 1 ms floor, as ok", () => {
    const baseline = makeResult({ protocols: { sse: { latencyMs: fast } } });
    const current = makeResult({
      protocols: {
        sse: {
          latencyMs: fast.map((v) => v * 1.05),
          overrides: { bytesPerDelivery: 61.2 * 1.08, deliveriesPerSec: 2000 * 0.95 },
        },
      },
    });
    const comparison = compareResults(baseline, current);
    expect(comparison.regressions).toEqual([]);
    const row = (name: string) => comparison.rows.find((r) => r.metric === name);
    expect(row("sse.latency.p99")?.verdict).toBe("ok");
    expect(row("sse.bytesPerDelivery")?.verdict).toBe("ok");

    // 0.3 -> 0.5 ms is +67% but under the absolute floor.
    const tiny = makeResult({ protocols: { sse: { latencyMs: [0.3, 0.3, 0.3] } } });
    const tinyLater = makeResult({ protocols: { sse: { latencyMs: [0.5, 0.5, 0.5] } } });
    expect(
      compareResults(tiny, tinyLater).rows.find((r) => r.metric === "sse.latency.p50")?.verdict,
    ).toBe("ok");
  });

  it("regresses on a rate beyond tolerance, honours overrides, and never tolerates more loss", () => {
    const baseline = makeResult({ protocols: { sse: {} } });
    const current = makeResult({
      protocols: { sse: { overrides: { bytesPerDelivery: 61.2 * 1.3, lost: 1 } } },
    });
    expect(rowsOf(compareResults(baseline, current), "regressed")).toEqual([
      "sse.lost",
      "sse.bytesPerDelivery",
    ]);
    const loose = compareResults(baseline, current, {
      tolerances: { "sse.bytesPerDelivery": 0.5, lost: 10, exact: 10 },
    });
    expect(rowsOf(loose, "regressed")).toEqual(["sse.lost"]);
    expect(
      rowsOf(compareResults(baseline, current, { tolerances: { rate: 0.5 } }), "regressed"),
    ).toEqual(["sse.lost"]);
  });

  it("refuses results of different scenarios or schema versions", () => {
    const baseline = makeResult();
    const other = makeResult({
      overrides: { scenario: { name: "other", file: null, sha256: "b".repeat(64) } },
    });
    expect(() => compareResults(baseline, other)).toThrow(RtbenchError);
    expect(() => compareResults(baseline, other)).toThrow(/different scenarios/);
    const v2 = { ...makeResult(), schemaVersion: 2 };
    expect(() => compareResults(baseline, v2)).toThrow(/schemaVersion/);
  });

  it("warns about different machines and unreliable or partial results", () => {
    const baseline = makeResult();
    const current = makeResult({
      overrides: {
        environment: { node: "v20", cpus: 8, cpuModel: "Other CPU", os: "linux", gitCommit: null },
        reliable: false,
        status: "partial",
      },
    });
    const { warnings } = compareResults(baseline, current);
    expect(warnings.join("\n")).toMatch(/CPU model differs/);
    expect(warnings.join("\n")).toMatch(/CPU count differs/);
    expect(warnings.join("\n")).toMatch(/current is marked unreliable/);
    expect(warnings.join("\n")).toMatch(/current is a partial result/);
  });

  it("parses --tolerance flags", () => {
    expect(parseTolerance("timing=10%")).toEqual(["timing", 0.1]);
    expect(parseTolerance("websocket.latency.p99=0.25")).toEqual(["websocket.latency.p99", 0.25]);
    expect(() => parseTolerance("timing")).toThrow(/expected KEY=PERCENT/);
  });
});

describe("medianResult", () => {
  it("takes the per-metric median of 3 runs with min/max spread", () => {
    const runs = [1, 3, 2].map((factor) =>
      makeResult({
        protocols: {
          websocket: { latencyMs: fast.map((v) => v * factor), overrides: { lost: factor - 1 } },
        },
      }),
    );
    const { result, spread } = medianResult(runs);
    const p99s = runs
      .map((r) => getMetric(r, "websocket.latency.p99") as number)
      .sort((a, b) => a - b);
    expect(getMetric(result, "websocket.latency.p99")).toBe(p99s[1]);
    expect(spread["websocket.latency.p99"]).toEqual({
      median: p99s[1],
      min: p99s[0],
      max: p99s[2],
      runs: 3,
    });
    expect(getMetric(result, "websocket.lost")).toBe(1);
    expect(spread["websocket.lost"]).toMatchObject({ min: 0, max: 2 });
    expect(result.setup.notes).toContain("median of 3 runs");
    // hdr holds all runs merged, for later merging.
    expect(result.protocols.websocket?.latency.hdr).not.toBe(
      runs[0]?.protocols.websocket?.latency.hdr,
    );
  });

  it("marks the median unreliable if any run was", () => {
    const runs = [makeResult(), makeResult({ overrides: { reliable: false } }), makeResult()];
    expect(medianResult(runs).result.reliable).toBe(false);
    expect(() => medianResult([])).toThrow(RtbenchError);
  });
});
