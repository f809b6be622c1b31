import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from "hdr-histogram-js";
import { errorText } from "../shared/errors.js";
import type { HistogramSummary } from "./types.js";

/**
 * Latency histograms (delivery latency, connect, reconnect, outage):
 * HdrHistogram in microseconds with 3 significant digits, so percentiles are exact to that
 * precision and histograms from several shards merge losslessly.
 *
 * The JS implementation is used on purpose: WASM histograms need explicit
 * `destroy()` and an async init, and the JS one is fast enough per message.
 */
export interface LatencyHistogram {
  readonly hdr: Histogram;
  /**
   * Values below zero (or NaN), recorded as 0 and counted here. A negative
   * latency means clocks disagree (e.g. a stamp from another host). The count
   * stays in this process: shard reports do not carry it.
   */
  negativeClamped: number;
}

const US_PER_MS = 1000;

function buildHdr(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function createLatencyHistogram(): LatencyHistogram {
  return { hdr: buildHdr(), negativeClamped: 0 };
}

/** Records one value given in milliseconds. Hot path: no allocation. */
export function recordMs(h: LatencyHistogram, ms: number): void {
  // `!(ms >= 0)` also catches NaN, which hdr would otherwise store as garbage.
  if (!(ms >= 0)) {
    h.negativeClamped++;
    h.hdr.recordValue(0);
    return;
  }
  h.hdr.recordValue(Math.round(ms * US_PER_MS));
}

/** Compressed base64 (HdrHistogram V2 encoding), the `hdr` field of the result file. */
export function encodeHistogram(h: LatencyHistogram): string {
  return encodeIntoCompressedBase64(h.hdr);
}

/**
 * Decodes a histogram written by `encodeHistogram`. The encoding does not
 * carry `negativeClamped`, so the decoded histogram starts at 0.
 */
export function decodeHistogram(encoded: string): LatencyHistogram {
  let decoded: Histogram;
  try {
    decoded = decodeFromCompressedBase64(encoded, 32, false);
  } catch (error) {
    const reason = errorText(error);
    throw new Error(`not an encoded HdrHistogram (${reason})`);
  }
  // Decoded histograms do not auto-resize; copy into one that does so merges never throw.
  const h = createLatencyHistogram();
  h.hdr.add(decoded);
  return h;
}

/** Adds every histogram (or encoded histogram) into a new one: lossless, order-independent. */
export function mergeHistograms(list: ReadonlyArray<LatencyHistogram | string>): LatencyHistogram {
  const merged = createLatencyHistogram();
  for (const item of list) {
    const h = typeof item === "string" ? decodeHistogram(item) : item;
    merged.hdr.add(h.hdr);
    merged.negativeClamped += h.negativeClamped;
  }
  return merged;
}

function toMs(us: number): number {
  // Microsecond resolution; rounding removes float noise like 1.2349999999.
  return Math.round(us) / US_PER_MS;
}

/**
 * Summary in milliseconds for the result file. An empty histogram gives
 * count 0 and every other number 0 (not NaN, which JSON cannot carry), so a
 * reader must check `count` before trusting the percentiles.
 */
export function summarizeHistogram(h: LatencyHistogram): HistogramSummary {
  const hdr = h.hdr;
  const count = hdr.totalCount;
  if (count === 0) {
    return {
      count: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p95: 0,
      p99: 0,
      p999: 0,
      max: 0,
      hdr: encodeHistogram(h),
    };
  }
  return {
    count,
    // Percentile 0 is the lowest equivalent value of the first bucket, which also covers 0.
    min: toMs(hdr.getValueAtPercentile(0)),
    mean: toMs(hdr.mean),
    p50: toMs(hdr.getValueAtPercentile(50)),
    p90: toMs(hdr.getValueAtPercentile(90)),
    p95: toMs(hdr.getValueAtPercentile(95)),
    p99: toMs(hdr.getValueAtPercentile(99)),
    p999: toMs(hdr.getValueAtPercentile(99.9)),
    // Percentile 100 rather than `maxValue`: a decoded histogram only knows buckets, so this
    // keeps a merged summary identical to the summary of one histogram of the same values.
    max: toMs(hdr.getValueAtPercentile(100)),
    hdr: encodeHistogram(h),
  };
}

/** Convenience for merging shard results: encoded histograms in, summary out. */
export function summarizeEncoded(encoded: readonly string[]): HistogramSummary {
  return summarizeHistogram(mergeHistograms(encoded));
}
