import { seededRandom } from "../util/random.js";

/**
 * The statistics of the gate, on plain lists of per-run values: a one-sided
 * Mann-Whitney U test and a bootstrap confidence interval of the ratio of
 * medians. `compareSamples` is the one entry point, so that anything that
 * produces two lists of runs (a baseline made with `--repeat`, an A/B run on
 * one machine) is judged the same way. Pure functions, deterministic.
 */

export type Better = "lower" | "higher";

export interface SampleOptions {
  /** Which direction is an improvement for this metric. */
  better: Better;
  /** Relative change (0.1 = 10%) a regression must exceed, beyond doubt. */
  tolerance: number;
  /** Absolute change (in the metric's unit) a regression must also exceed; 0 for none. */
  floor?: number;
  /** One-sided significance level of the U test. */
  alpha?: number;
  /** Coverage of the bootstrap interval. */
  level?: number;
  /** Bootstrap resamples. */
  iterations?: number;
}

export interface SampleComparison {
  verdict: "ok" | "better" | "regressed";
  baselineMedian: number;
  currentMedian: number;
  /** current median / baseline median; null when the baseline median is 0. */
  ratio: number | null;
  /** Bootstrap interval of that ratio; null when the baseline median is 0. */
  interval: [number, number] | null;
  /** One-sided p-value of "current is worse" (Mann-Whitney U). */
  pWorse: number;
  /** One-sided p-value of "current is better". */
  pBetter: number;
}

export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_LEVEL = 0.95;
const DEFAULT_ITERATIONS = 2000;
/** Below this many runs on a side, no test can reach 5% significance (3 vs 3 needs a clean split). */
export const MIN_RUNS_FOR_TEST = 3;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Two lists of per-run values of one metric: a regression when the current
 * runs are worse with significance (U test, p <= alpha) AND the whole
 * interval of the median ratio lies beyond the tolerance AND the medians
 * differ by more than the floor. An improvement is judged the same way.
 */
export function compareSamples(
  baseline: readonly number[],
  current: readonly number[],
  options: SampleOptions,
): SampleComparison {
  if (baseline.length === 0 || current.length === 0) {
    throw new RangeError("compareSamples: each side needs at least one value");
  }
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const floor = options.floor ?? 0;
  const pHigher = mannWhitneyGreater(baseline, current);
  const pLower = mannWhitneyGreater(current, baseline);
  const pWorse = options.better === "lower" ? pHigher : pLower;
  const pBetter = options.better === "lower" ? pLower : pHigher;
  const baselineMedian = median(baseline);
  const currentMedian = median(current);
  const interval =
    baselineMedian === 0
      ? null
      : bootstrapMedianRatio(baseline, current, options.level, options.iterations);
  const ratio = baselineMedian === 0 ? null : currentMedian / baselineMedian;
  const beyondFloor = Math.abs(currentMedian - baselineMedian) > floor;
  // "Higher" means the current is larger; which of the two is worse depends on the metric.
  const higherBeyond = interval === null ? currentMedian > 0 : interval[0] > 1 + options.tolerance;
  const lowerBeyond = interval === null ? currentMedian < 0 : interval[1] < 1 - options.tolerance;
  const worseBeyond = options.better === "lower" ? higherBeyond : lowerBeyond;
  const betterBeyond = options.better === "lower" ? lowerBeyond : higherBeyond;
  let verdict: SampleComparison["verdict"] = "ok";
  if (pWorse <= alpha && worseBeyond && beyondFloor) verdict = "regressed";
  else if (pBetter <= alpha && betterBeyond && beyondFloor) verdict = "better";
  return { verdict, baselineMedian, currentMedian, ratio, interval, pWorse, pBetter };
}

/** Pooled samples up to this size get the exact distribution of U; larger ones the normal approximation. */
const EXACT_MAX_POOLED = 40;

/**
 * One-sided p-value of the Mann-Whitney U test that values in `b` tend to be
 * larger than values in `a`. Ties get mid-ranks. Exact (the permutation
 * distribution of the rank sum, ties included) up to 40 values in all;
 * beyond that the normal approximation with tie and continuity corrections.
 */
export function mannWhitneyGreater(a: readonly number[], b: readonly number[]): number {
  const pooled = [...a.map((v) => ({ v, inB: false })), ...b.map((v) => ({ v, inB: true }))];
  pooled.sort((x, y) => x.v - y.v);
  // Doubled mid-ranks stay integers: a tie over ranks 3 and 4 is 7 for each.
  const doubledRanks: number[] = new Array(pooled.length);
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    while (
      j + 1 < pooled.length &&
      (pooled[j + 1] as { v: number }).v === (pooled[i] as { v: number }).v
    )
      j++;
    for (let k = i; k <= j; k++) doubledRanks[k] = i + j + 2;
    i = j + 1;
  }
  let observed = 0;
  pooled.forEach((item, i) => {
    if (item.inB) observed += doubledRanks[i] as number;
  });
  if (pooled.length <= EXACT_MAX_POOLED) return exactUpperTail(doubledRanks, b.length, observed);
  return normalUpperTail(doubledRanks, a.length, b.length, observed);
}

/** P(sum of k ranks drawn without replacement >= observed), by counting every subset. */
function exactUpperTail(ranks: readonly number[], k: number, observed: number): number {
  const maxSum = ranks.reduce((s, r) => s + r, 0);
  // ways[j][s]: subsets of j ranks (from those seen so far) whose sum is s.
  const ways = Array.from({ length: k + 1 }, () => new Float64Array(maxSum + 1));
  (ways[0] as Float64Array)[0] = 1;
  for (const rank of ranks) {
    for (let j = k; j >= 1; j--) {
      const to = ways[j] as Float64Array;
      const from = ways[j - 1] as Float64Array;
      for (let s = maxSum; s >= rank; s--) to[s] = (to[s] as number) + (from[s - rank] as number);
    }
  }
  const all = ways[k] as Float64Array;
  let total = 0;
  let tail = 0;
  for (let s = 0; s <= maxSum; s++) {
    total += all[s] as number;
    if (s >= observed) tail += all[s] as number;
  }
  return tail / total;
}

function normalUpperTail(
  doubledRanks: readonly number[],
  n: number,
  m: number,
  observedDoubled: number,
): number {
  const size = n + m;
  const u = observedDoubled / 2 - (m * (m + 1)) / 2;
  const mean = (n * m) / 2;
  const tieCounts = new Map<number, number>();
  for (const r of doubledRanks) tieCounts.set(r, (tieCounts.get(r) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of tieCounts.values()) tieTerm += t ** 3 - t;
  const variance = ((n * m) / 12) * (size + 1 - tieTerm / (size * (size - 1)));
  if (variance <= 0) return u > mean ? 0 : 1;
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return 1 - normalCdf(z);
}

/** Abramowitz-Stegun 7.1.26 for erf: accurate to 1.5e-7, plenty for a p-value. */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Percentile bootstrap interval of median(current) / median(baseline): each
 * side resampled with replacement. Seeded, so a verdict never changes
 * between two renderings of the same data.
 */
export function bootstrapMedianRatio(
  baseline: readonly number[],
  current: readonly number[],
  level = DEFAULT_LEVEL,
  iterations = DEFAULT_ITERATIONS,
): [number, number] {
  const random = seededRandom(0x5eed);
  const ratios: number[] = [];
  const resampledMedian = (values: readonly number[]) => {
    const draw = Array.from(
      { length: values.length },
      () => values[Math.floor(random() * values.length)] as number,
    );
    return median(draw);
  };
  for (let i = 0; i < iterations; i++) {
    const b = resampledMedian(baseline);
    const c = resampledMedian(current);
    // A resample with a zero baseline median says "no bound": it widens the interval to infinity.
    ratios.push(b === 0 ? (c === 0 ? 1 : Number.POSITIVE_INFINITY) : c / b);
  }
  ratios.sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  const at = (q: number) =>
    ratios[Math.min(ratios.length - 1, Math.max(0, Math.floor(q * ratios.length)))] as number;
  return [at(tail), at(1 - tail)];
}
