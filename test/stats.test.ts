import { describe, expect, it } from "vitest";
import {
  bootstrapMedianRatio,
  compareSamples,
  mannWhitneyGreater,
  median,
} from "../src/gate/stats.js";
import { seededRandom } from "../src/util/random.js";

/**
 * The naive oracle: every way to split the pooled values into two groups of
 * the same sizes, U counted pair by pair (ties half), and the share of
 * splits whose U is at least the observed one.
 */
function bruteForceGreater(a: readonly number[], b: readonly number[]): number {
  const pooled = [...a, ...b];
  const u = (xs: readonly number[], ys: readonly number[]) => {
    let total = 0;
    for (const y of ys) for (const x of xs) total += y > x ? 1 : y === x ? 0.5 : 0;
    return total;
  };
  const observed = u(a, b);
  let splits = 0;
  let atLeast = 0;
  const choose = (start: number, picked: number[]) => {
    if (picked.length === b.length) {
      const ys = picked.map((i) => pooled[i] as number);
      const xs = pooled.filter((_, i) => !picked.includes(i));
      splits++;
      if (u(xs, ys) >= observed - 1e-9) atLeast++;
      return;
    }
    for (let i = start; i < pooled.length; i++) choose(i + 1, [...picked, i]);
  };
  choose(0, []);
  return atLeast / splits;
}

describe("mannWhitneyGreater", () => {
  it("gives 1/20 for 3 runs all above 3 others, the smallest p-value 3 against 3 can give", () => {
    expect(mannWhitneyGreater([1, 2, 3], [4, 5, 6])).toBeCloseTo(0.05, 12);
    expect(mannWhitneyGreater([4, 5, 6], [1, 2, 3])).toBeCloseTo(1, 12);
  });

  it("agrees with the brute-force permutation test, ties included", () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + Math.floor(random() * 5);
      const m = 2 + Math.floor(random() * 5);
      // Few distinct values, so ties are common.
      const draw = () => Math.floor(random() * 6);
      const a = Array.from({ length: n }, draw);
      const b = Array.from({ length: m }, () => draw() + (trial % 3));
      expect(mannWhitneyGreater(a, b)).toBeCloseTo(bruteForceGreater(a, b), 10);
    }
  });

  it("uses the normal approximation for large samples, close to the exact answer", () => {
    const random = seededRandom(3);
    const a = Array.from({ length: 30 }, () => random());
    const b = Array.from({ length: 30 }, () => random() + 0.2);
    const p = mannWhitneyGreater(a, b);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(0.05);
    // Exact at the boundary of the exact method, approximate just past it: close.
    const exact = mannWhitneyGreater(a.slice(0, 20), b.slice(0, 20));
    const approx = mannWhitneyGreater(a.slice(0, 21), b.slice(0, 20));
    expect(Math.abs(exact - approx)).toBeLessThan(0.05);
  });
});

describe("bootstrapMedianRatio", () => {
  it("holds the observed ratio and is the same every time (seeded)", () => {
    const a = [10, 11, 12, 9, 10.5];
    const b = [20, 22, 19, 21, 20.5];
    const interval = bootstrapMedianRatio(a, b);
    const ratio = median(b) / median(a);
    expect(interval[0]).toBeLessThanOrEqual(ratio);
    expect(interval[1]).toBeGreaterThanOrEqual(ratio);
    expect(interval[0]).toBeGreaterThan(1.5);
    expect(bootstrapMedianRatio(a, b)).toEqual(interval);
  });

  it("with 3 runs a side spans from min/max to max/min", () => {
    const [low, high] = bootstrapMedianRatio([1, 2, 3], [4, 5, 6]);
    expect(low).toBeCloseTo(4 / 3, 10);
    expect(high).toBeCloseTo(6 / 1, 10);
  });
});

describe("compareSamples", () => {
  const lower = { better: "lower" as const, tolerance: 0.1 };

  it("regresses only when significant and beyond the tolerance", () => {
    expect(compareSamples([10, 11, 12], [20, 21, 22], lower).verdict).toBe("regressed");
    // Significant (a clean split) but within 10%: the interval reaches below 1.1.
    expect(compareSamples([10, 10.2, 10.4], [10.5, 10.7, 10.9], lower).verdict).toBe("ok");
    // Large but not significant: the runs overlap.
    expect(compareSamples([10, 30, 12], [20, 11, 35], lower).verdict).toBe("ok");
  });

  it("judges the other direction for metrics where higher is better, and improvements", () => {
    const higher = { better: "higher" as const, tolerance: 0.1 };
    expect(compareSamples([100, 110, 105], [50, 52, 49], higher).verdict).toBe("regressed");
    expect(compareSamples([10, 11, 12], [5, 5.5, 6], lower).verdict).toBe("better");
  });

  it("ignores changes below the absolute floor", () => {
    const small = compareSamples([0.3, 0.31, 0.29], [0.6, 0.62, 0.61], { ...lower, floor: 1 });
    expect(small.verdict).toBe("ok");
    expect(small.ratio).toBeCloseTo(2, 1);
  });

  it("has no ratio against a zero baseline, and still sees a significant rise", () => {
    const fromZero = compareSamples([0, 0, 0], [2, 3, 4], lower);
    expect(fromZero.ratio).toBeNull();
    expect(fromZero.interval).toBeNull();
    expect(fromZero.verdict).toBe("regressed");
  });
});
