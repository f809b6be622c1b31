import { describe, expect, it } from "vitest";
import { type ComparedResult, compareResults, parseTolerance } from "../src/gate/compare.js";
import { HEADLINE_METRICS } from "../src/gate/judged.js";
import { medianResult } from "../src/gate/repeat.js";
import { getMetric } from "../src/measures/names.js";
import { RtbenchError } from "../src/shared/errors.js";
import { latencySamples, makeResult } from "./helpers/result-fixture.js";

const fast = latencySamples(11, 5000, 2);
const times = (factor: number) => fast.map((v) => v * factor);

function rowsOf(comparison: ReturnType<typeof compareResults>, verdict: string): string[] {
  return comparison.rows.filter((r) => r.verdict === verdict).map((r) => r.metric);
}

function rowOf(comparison: ReturnType<typeof compareResults>, metric: string) {
  const row = comparison.rows.find((r) => r.metric === metric);
  if (row === undefined) throw new Error(`no row ${metric}`);
  return row;
}

/** The median result of runs whose latencies are `fast` scaled by each factor. */
function repeated(factors: readonly number[], seed = 0): ComparedResult {
  const runs = factors.map((factor, i) =>
    makeResult({
      protocols: { websocket: { latencyMs: latencySamples(seed + i, 2000, 2 * factor) } },
    }),
  );
  const { result, spread } = medianResult(runs);
  return { ...result, repeat: { runs: runs.length, files: [], spread } };
}

describe("compareResults: what is judged", () => {
  it("judges the documented headline metrics and only shows the rest", () => {
    const result = makeResult({ protocols: { websocket: {} } });
    const comparison = compareResults(result, structuredClone(result));
    const judged = comparison.rows.filter((r) => r.judged).map((r) => r.metric);
    expect(judged.sort()).toEqual(HEADLINE_METRICS.map((path) => `websocket.${path}`).sort());
    for (const shown of [
      "latency.max",
      "latency.min",
      "latency.p999",
      "generator.eventLoopDelayP99",
    ]) {
      expect(rowOf(comparison, `websocket.${shown}`).judged).toBe(false);
    }
  });

  it("never fails the gate on extremes or generator health, unless asked to judge them", () => {
    const baseline = makeResult({ protocols: { websocket: { latencyMs: fast } } });
    const spiky = makeResult({
      protocols: {
        websocket: {
          latencyMs: [...fast.slice(1), 900],
          overrides: {
            generator: {
              eventLoopDelayP99: 40,
              reliable: true,
              processes: 2,
              publisherMaxLagMs: 30,
            },
          },
        },
      },
    });
    const quiet = compareResults(baseline, spiky);
    expect(quiet.regressions).toEqual([]);
    expect(rowOf(quiet, "websocket.latency.max").verdict).toBe("worse");
    expect(rowOf(quiet, "websocket.latency.max").evidence).toBeNull();
    expect(rowOf(quiet, "websocket.generator.publisherMaxLagMs").verdict).toBe("worse");

    // Asked for, an extreme is judged, but one run cannot show its noise: it needs runs.
    const judge = [{ protocol: null, path: "latency.max" }];
    const asked = compareResults(baseline, spiky, { judge });
    expect(asked.regressions).toEqual([]);
    expect(rowOf(asked, "websocket.latency.max")).toMatchObject({
      judged: true,
      verdict: "worse",
      evidence: { method: "needs-runs" },
    });
    const maxOf = (r: ComparedResult) => r.repeat?.spread["websocket.latency.max"];
    const calm = repeated([1, 1.05, 0.95]);
    const stormy = structuredClone(calm);
    const max = maxOf(stormy);
    if (max === undefined) throw new Error("no spread of latency.max");
    max.values = (max.values ?? []).map((v) => v * 50);
    max.min *= 50;
    max.max *= 50;
    expect(compareResults(calm, stormy, { judge }).regressions.map((r) => r.metric)).toEqual([
      "websocket.latency.max",
    ]);
  });

  it("finds no regression comparing a result with itself", () => {
    const result = makeResult();
    const comparison = compareResults(result, structuredClone(result));
    expect(comparison.regressions).toEqual([]);
    expect(comparison.rows.every((r) => r.verdict === "ok")).toBe(true);
    expect(comparison.rows.some((r) => r.metric === "short-poll.emptyPollShare")).toBe(true);
    expect(comparison.warnings).toEqual([]);
  });
});

describe("compareResults: single runs", () => {
  it("regresses a latency far beyond its noise, with the ranges as evidence", () => {
    const baseline = makeResult({ protocols: { websocket: { latencyMs: fast } } });
    const current = makeResult({ protocols: { websocket: { latencyMs: times(10) } } });
    const comparison = compareResults(baseline, current);
    expect(rowsOf(comparison, "regressed")).toEqual(["websocket.latency.p50"]);
    // A tail of one run against another: its noise is unknown, so it is shown, not judged.
    expect(rowOf(comparison, "websocket.latency.p99")).toMatchObject({
      verdict: "worse",
      evidence: { method: "needs-runs" },
    });
    const p50 = rowOf(comparison, "websocket.latency.p50");
    expect(p50.changePct).toBeGreaterThan(800);
    expect(p50.evidence?.method).toBe("noise");
    if (p50.evidence?.method !== "noise") throw new Error("unreachable");
    // The range is the median's sampling error: around the value, not the value alone.
    expect(p50.evidence.baselineRange[0]).toBeLessThan(p50.baseline as number);
    expect(p50.evidence.baselineRange[1]).toBeGreaterThan(p50.baseline as number);
    // Not judged by default, so at worst "worse".
    expect(rowOf(comparison, "websocket.latency.p95").verdict).toBe("worse");
    // The other way round it is an improvement.
    expect(rowsOf(compareResults(current, baseline), "better")).toContain("websocket.latency.p50");
  });

  it("keeps a change within the sampling noise and the tolerance quiet", () => {
    const baseline = makeResult({ protocols: { sse: { latencyMs: fast } } });
    const current = makeResult({
      protocols: {
        sse: {
          latencyMs: times(1.3),
          overrides: { bytesPerDelivery: 61.2 * 1.08, deliveriesPerSec: 2000 * 0.95 },
        },
      },
    });
    const comparison = compareResults(baseline, current);
    expect(comparison.regressions).toEqual([]);
    expect(rowOf(comparison, "sse.latency.p99").verdict).toBe("ok");
    expect(rowOf(comparison, "sse.bytesPerDelivery").verdict).toBe("ok");

    // 0.3 -> 0.5 ms is +67% but under the absolute floor.
    const tiny = makeResult({ protocols: { sse: { latencyMs: [0.3, 0.3, 0.3] } } });
    const tinyLater = makeResult({ protocols: { sse: { latencyMs: [0.5, 0.5, 0.5] } } });
    expect(rowOf(compareResults(tiny, tinyLater), "sse.latency.p50").verdict).toBe("ok");
  });

  it("narrows the noise of a percentile as the measured window grows", () => {
    const result = (durationMs: number) =>
      makeResult({
        protocols: { websocket: { latencyMs: fast } },
        overrides: {
          setup: { ...makeResult().setup, durationMs, warmupMs: 1000 },
        },
      });
    const range = (durationMs: number) => {
      const evidence = rowOf(
        compareResults(result(durationMs), result(durationMs)),
        "websocket.latency.p50",
      ).evidence;
      if (evidence?.method !== "noise") throw new Error("expected noise evidence");
      return evidence.baselineRange[1] - evidence.baselineRange[0];
    };
    expect(range(61_000)).toBeLessThan(range(4000));
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
    expect(rowOf(compareResults(baseline, current), "sse.lost").evidence).toEqual({
      method: "exact",
    });
    const loose = compareResults(baseline, current, {
      tolerances: { "sse.bytesPerDelivery": 0.5, lost: 10, exact: 10 },
    });
    expect(rowsOf(loose, "regressed")).toEqual(["sse.lost"]);
    expect(
      rowsOf(compareResults(baseline, current, { tolerances: { rate: 0.5 } }), "regressed"),
    ).toEqual(["sse.lost"]);
  });
});

describe("compareResults: results of --repeat", () => {
  it("tests the per-run values: a real slowdown regresses with a p-value and an interval", () => {
    const baseline = repeated([1, 1.05, 0.95]);
    const slower = repeated([10, 10.5, 9.5], 10);
    const comparison = compareResults(baseline, slower);
    const p50 = rowOf(comparison, "websocket.latency.p50");
    expect(p50.verdict).toBe("regressed");
    expect(p50.evidence?.method).toBe("test");
    if (p50.evidence?.method !== "test") throw new Error("unreachable");
    expect(p50.evidence.runs).toEqual([3, 3]);
    // 3 runs against 3: the smallest one-sided p-value there is.
    expect(p50.evidence.pValue).toBeCloseTo(0.05, 10);
    expect(p50.evidence.interval?.[0]).toBeGreaterThan(1.1);
  });

  it("keeps unchanged runs quiet, and runs that overlap", () => {
    const baseline = repeated([1, 1.2, 0.9]);
    expect(compareResults(baseline, repeated([1.1, 0.95, 1.15], 20)).regressions).toEqual([]);
    // Worse every time, but not beyond the noise and the tolerance.
    expect(compareResults(baseline, repeated([1.15, 1.25, 1.3], 30)).regressions).toEqual([]);
  });
});

describe("compareResults: refusals and warnings", () => {
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

  it("warns about different machines, durations, and unreliable or partial results", () => {
    const baseline = makeResult();
    const current = makeResult({
      overrides: {
        environment: { node: "v20", cpus: 8, cpuModel: "Other CPU", os: "linux", gitCommit: null },
        reliable: false,
        status: "partial",
        setup: { ...baseline.setup, durationMs: 10_000 },
      },
    });
    const warnings = compareResults(baseline, current).warnings.join("\n");
    expect(warnings).toMatch(/CPU model differs/);
    expect(warnings).toMatch(/CPU count differs/);
    expect(warnings).toMatch(/current is marked unreliable/);
    expect(warnings).toMatch(/current is a partial result/);
    expect(warnings).toContain(
      "baseline ran for 30s, current for 10s: counts differ and timings may too",
    );
  });

  it("parses --tolerance flags", () => {
    expect(parseTolerance("timing=10%")).toEqual(["timing", 0.1]);
    expect(parseTolerance("websocket.latency.p99=0.25")).toEqual(["websocket.latency.p99", 0.25]);
    expect(() => parseTolerance("timing")).toThrow(/expected KEY=PERCENT/);
  });
});

describe("medianResult", () => {
  it("takes the per-metric median of 3 runs and keeps every run's value", () => {
    const runs = [1, 3, 2].map((factor) =>
      makeResult({
        protocols: {
          websocket: { latencyMs: times(factor), overrides: { lost: factor - 1 } },
        },
      }),
    );
    const { result, spread } = medianResult(runs);
    const p99s = runs.map((r) => getMetric(r, "websocket.latency.p99") as number);
    const sorted = [...p99s].sort((a, b) => a - b);
    expect(getMetric(result, "websocket.latency.p99")).toBe(sorted[1]);
    expect(spread["websocket.latency.p99"]).toEqual({
      median: sorted[1],
      min: sorted[0],
      max: sorted[2],
      runs: 3,
      values: p99s,
    });
    expect(getMetric(result, "websocket.lost")).toBe(1);
    expect(spread["websocket.lost"]).toMatchObject({ min: 0, max: 2, values: [0, 2, 1] });
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
