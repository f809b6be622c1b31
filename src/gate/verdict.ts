import type { MetricInfo } from "../measures/names.js";
import { DEFAULT_TIMING_FLOOR_MS, judgeableFromSingleRuns, toleranceFor } from "./judged.js";
import type { Noise } from "./noise.js";
import { compareSamples, MIN_RUNS_FOR_TEST } from "./stats.js";

/**
 * The verdict on one metric of a comparison, from the two sides' values and
 * what is known about their noise (see noise.ts), with the evidence that
 * decided it.
 */

export type Verdict = "ok" | "better" | "worse" | "regressed";

/**
 * Why a judged row got its verdict, so the table can show it:
 * - exact: a count where any increase is a regression;
 * - test: per-run values on both sides, Mann-Whitney U and a bootstrap
 *   interval of the median ratio;
 * - noise: one value a side, each with the range it could have taken by
 *   chance (its runs' spread or its percentile's sampling error); the change
 *   must exceed the tolerance even between the nearest ends of both ranges;
 * - needs-runs: single runs of a metric whose noise one run cannot show.
 */
export type Evidence =
  | { method: "exact" }
  | {
      method: "test";
      runs: [baseline: number, current: number];
      /** One-sided p-value of the change in the direction it went. */
      pValue: number;
      ratio: number | null;
      interval: [number, number] | null;
      tolerance: number;
    }
  | {
      /**
       * Neither side has per-run values, and one run cannot show this
       * metric's noise (a tail, a burst, CPU time): shown, not judged.
       */
      method: "needs-runs";
    }
  | {
      method: "noise";
      baselineRange: [number, number];
      currentRange: [number, number];
      /** How much worse the current value may be before it regresses, in the metric's unit. */
      allowed: number;
      tolerance: number;
    };

interface Judgement {
  verdict: Verdict;
  evidence: Evidence | null;
}

/** Exact counts and descriptive counts: the direction alone decides. */
function judgeCount(metric: MetricInfo, b: number, c: number, judged: boolean): Judgement {
  if (metric.better === null) return { verdict: "ok", evidence: null };
  // A judged count regresses on any worsening, whatever its kind: one more lost message counts.
  const evidence: Evidence | null = judged ? { method: "exact" } : null;
  if (b === c) return { verdict: "ok", evidence };
  const worse = metric.better === "lower" ? c > b : c < b;
  if (!worse) return { verdict: "better", evidence };
  return { verdict: judged ? "regressed" : "worse", evidence };
}

/** Timings and rates: a statistical test with runs on both sides, else the noise ranges. */
function judgeMeasured(
  metric: MetricInfo,
  b: Noise,
  c: Noise,
  tolerance: number,
  floor: number,
  test: boolean,
): Judgement {
  const better = metric.better ?? "lower";
  if (
    test &&
    b.runs !== undefined &&
    c.runs !== undefined &&
    b.runs.length >= MIN_RUNS_FOR_TEST &&
    c.runs.length >= MIN_RUNS_FOR_TEST
  ) {
    const test = compareSamples(b.runs, c.runs, { better, tolerance, floor });
    // Several metrics are tested at once, and 3 runs against 3 split cleanly by chance one
    // time in 20: where one run shows its own noise, the medians must also clear it.
    if (test.verdict !== "ok" && b.sampled !== undefined && c.sampled !== undefined) {
      const medians = judgeMeasured(
        metric,
        { value: b.value, ...b.sampled, source: "sampling" },
        { value: c.value, ...c.sampled, source: "sampling" },
        tolerance,
        floor,
        false,
      );
      if (medians.verdict !== test.verdict) test.verdict = "ok";
    }
    const worseDirection =
      better === "lower"
        ? test.currentMedian > test.baselineMedian
        : test.currentMedian < test.baselineMedian;
    return {
      verdict: test.verdict,
      evidence: {
        method: "test",
        runs: [b.runs.length, c.runs.length],
        pValue: worseDirection ? test.pWorse : test.pBetter,
        ratio: test.ratio,
        interval: test.interval,
        tolerance,
      },
    };
  }
  // The tolerance is taken from the baseline's end nearest to the current value.
  const lowerBetter = better === "lower";
  const worseMargin = Math.max(tolerance * Math.abs(lowerBetter ? b.high : b.low), floor);
  const betterMargin = Math.max(tolerance * Math.abs(lowerBetter ? b.low : b.high), floor);
  // Positive means "worse" (or "better"), whichever direction is better for this metric.
  const worseningAtLeast = lowerBetter ? c.low - b.high : b.low - c.high;
  const improvingAtLeast = lowerBetter ? b.low - c.high : c.low - b.high;
  const allowed = lowerBetter
    ? b.high + worseMargin + (c.value - c.low) - b.value
    : b.value - (b.low - worseMargin - (c.high - c.value));
  let verdict: Verdict = "ok";
  if (worseningAtLeast > worseMargin) verdict = "regressed";
  else if (improvingAtLeast > betterMargin) verdict = "better";
  return {
    verdict,
    evidence: {
      method: "noise",
      baselineRange: [b.low, b.high],
      currentRange: [c.low, c.high],
      allowed,
      tolerance,
    },
  };
}

export function judgeRow(
  metric: MetricInfo,
  name: string,
  sides: { b: Noise; c: Noise },
  judged: boolean,
  options: { tolerances?: Record<string, number>; timingFloorMs?: number },
): Judgement {
  const { b, c } = sides;
  if (metric.kind === "exact" || metric.kind === "count") {
    return judgeCount(metric, b.value, c.value, judged);
  }
  if (metric.better === null) return { verdict: "ok", evidence: null };
  const floor = metric.kind === "timing" ? (options.timingFloorMs ?? DEFAULT_TIMING_FLOOR_MS) : 0;
  const judgement = judgeMeasured(
    metric,
    b,
    c,
    toleranceFor(metric, name, options.tolerances),
    floor,
    // The test is for verdicts that count; shown rows make do with the ranges (hundreds of rows).
    judged,
  );
  const spread = (b.runs?.length ?? 0) > 1 || (c.runs?.length ?? 0) > 1;
  if (judged && !spread && !judgeableFromSingleRuns(metric.path)) {
    // Between two single runs on a shared machine, p99 moved 4x and connect p99 15x unchanged.
    return {
      verdict: judgement.verdict === "regressed" ? "worse" : judgement.verdict,
      evidence: { method: "needs-runs" },
    };
  }
  if (judged) return judgement;
  // Shown, not judged: a change beyond the noise is worth a look, never a failed gate.
  return {
    verdict: judgement.verdict === "regressed" ? "worse" : judgement.verdict,
    evidence: null,
  };
}
