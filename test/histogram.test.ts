import { describe, expect, it } from "vitest";
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  recordMs,
  summarizeHistogram,
} from "../src/metrics/histogram.js";
import { seededRandom } from "../src/util/random.js";

/** The percentile definition hdr uses: the smallest value with at least p% of values at or below it. */
function oraclePercentile(sortedUs: readonly number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sortedUs.length));
  return sortedUs[rank - 1] as number;
}

function expectWithin3Digits(actualMs: number, expectedMs: number): void {
  // 3 significant digits: relative error at most 1/1000, plus 1 µs for the rounding to µs.
  expect(Math.abs(actualMs - expectedMs)).toBeLessThanOrEqual(expectedMs / 1000 + 0.001);
}

function randomDataSet(seed: number): number[] {
  const random = seededRandom(seed);
  const count = 1 + Math.floor(random() * 5000);
  const scaleMs = 10 ** (random() * 6 - 2); // 0.01 ms .. 10 s
  return Array.from({ length: count }, () => random() ** 3 * scaleMs);
}

describe("latency histogram", () => {
  it("matches a sorted-array oracle within 3 significant digits on random data sets", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const valuesMs = randomDataSet(seed);
      const h = createLatencyHistogram();
      for (const v of valuesMs) recordMs(h, v);
      // hdr records whole microseconds, so the oracle works on the same rounded values.
      const sortedUs = valuesMs.map((v) => Math.round(v * 1000)).sort((a, b) => a - b);
      const summary = summarizeHistogram(h);
      expect(summary.count).toBe(valuesMs.length);
      const fields = [
        ["p50", 50],
        ["p90", 90],
        ["p95", 95],
        ["p99", 99],
        ["p999", 99.9],
        ["max", 100],
      ] as const;
      for (const [field, percentile] of fields) {
        expectWithin3Digits(summary[field], oraclePercentile(sortedUs, percentile) / 1000);
      }
      expectWithin3Digits(summary.min, (sortedUs[0] as number) / 1000);
      const meanMs = sortedUs.reduce((a, b) => a + b, 0) / sortedUs.length / 1000;
      expectWithin3Digits(summary.mean, meanMs);
    }
  });

  it("merging encoded histograms from several workers equals one histogram of all values", () => {
    const random = seededRandom(7);
    const all = createLatencyHistogram();
    const workers = [createLatencyHistogram(), createLatencyHistogram(), createLatencyHistogram()];
    for (let i = 0; i < 30_000; i++) {
      // Workers see different ranges, so the merge must resize.
      const worker = i % 3;
      const ms = random() * 10 ** (worker + 1);
      recordMs(workers[worker] as ReturnType<typeof createLatencyHistogram>, ms);
      recordMs(all, ms);
    }
    const merged = mergeHistograms(workers.map(encodeHistogram));
    const { hdr: _a, ...mergedSummary } = summarizeHistogram(merged);
    const { hdr: _b, ...allSummary } = summarizeHistogram(all);
    expect(mergedSummary).toEqual(allSummary);
    expect(mergedSummary.count).toBe(30_000);
  });

  it("round-trips through encode and decode", () => {
    const h = createLatencyHistogram();
    for (const ms of [0, 0.001, 0.5, 1.25, 17, 250, 60_000]) recordMs(h, ms);
    const decoded = decodeHistogram(encodeHistogram(h));
    // The encoded bytes may differ (array sizing); the recorded distribution must not.
    const { hdr: encodedAgain, ...after } = summarizeHistogram(decoded);
    const { hdr: _original, ...before } = summarizeHistogram(h);
    expect(after).toEqual(before);
    expect(after.max).toBeCloseTo(60_000, -2);
    const { hdr: _twice, ...twice } = summarizeHistogram(decodeHistogram(encodedAgain));
    expect(twice).toEqual(before);
  });

  it("clamps negative and NaN values to 0 and counts them", () => {
    const h = createLatencyHistogram();
    recordMs(h, -3);
    recordMs(h, Number.NaN);
    recordMs(h, 2);
    expect(h.negativeClamped).toBe(2);
    const summary = summarizeHistogram(h);
    expect(summary.count).toBe(3);
    expect(summary.min).toBe(0);
    expect(summary.max).toBe(2);
    expect(mergeHistograms([h, h]).negativeClamped).toBe(4);
  });

  it("summarises an empty histogram as count 0 and zeros", () => {
    const summary = summarizeHistogram(createLatencyHistogram());
    const { hdr, ...numbers } = summary;
    expect(Object.values(numbers).every((v) => v === 0)).toBe(true);
    expect(decodeHistogram(hdr).hdr.totalCount).toBe(0);
  });

  it("rejects a string that is not an encoded histogram", () => {
    expect(() => decodeHistogram("not base64 at all")).toThrow(/not an encoded HdrHistogram/);
  });
});
