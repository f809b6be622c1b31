import { getProtocolMetric } from "../measures/names.js";
import { decodeHistogram } from "../metrics/histogram.js";
import type { HistogramSummary, ProtocolResult } from "../metrics/types.js";
import type { ProtocolName } from "../shared/transports.js";
import type { Spread } from "./repeat.js";

/**
 * How far one side of a comparison could have moved by chance: its value
 * and the range it could plausibly have taken.
 *
 * - A result of `--repeat N` knows: the per-run values (for the statistical
 *   test) and their range.
 * - A single run of a percentile knows its sampling error: with n
 *   independent samples, the p-th percentile lies between the
 *   (p - z*sqrt(p(1-p)/n))-th and (p + z*sqrt(p(1-p)/n))-th ones with 95%
 *   confidence (order statistics). Samples are far from independent: the
 *   deliveries of one second share the machine's state (a GC pause, a busy
 *   neighbour), so a run measured for W seconds counts as W samples of its
 *   delivery latency, and the connects of one ramp-up burst as one.
 * - Anything else in a single run is a point: only the tolerance covers it.
 */
export interface Noise {
  value: number;
  low: number;
  high: number;
  /** Per-run values, when the result combines several runs. */
  runs?: readonly number[];
  /** The value's own sampling range as one run of it would have (percentiles of the window). */
  sampled?: { low: number; high: number };
  source: "runs" | "sampling" | "point";
}

const Z_95 = 1.96;
const PERCENTILES: Readonly<Record<string, number>> = {
  p50: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
  p999: 0.999,
};
/** Histograms sampled all through the measured window; the others happen in bursts (ramp-up, faults). */
const THROUGH_THE_WINDOW = new Set(["latency", "latencyFromSend"]);

type Hdr = ReturnType<typeof decodeHistogram>["hdr"];
/** Every percentile row of a histogram reads the same encoded string: decode it once. */
const decodedCache = new WeakMap<HistogramSummary, Hdr | null>();

function decoded(summary: HistogramSummary): Hdr | null {
  let hdr = decodedCache.get(summary);
  if (hdr === undefined) {
    try {
      hdr = decodeHistogram(summary.hdr).hdr;
    } catch {
      hdr = null;
    }
    decodedCache.set(summary, hdr);
  }
  return hdr;
}

export function noiseOf(
  result: ProtocolResult,
  protocol: ProtocolName,
  path: string,
  context: { spread: Readonly<Record<string, Spread>> | undefined; windowSeconds: number },
): Noise | null {
  const { spread } = context;
  const value = getProtocolMetric(result, path);
  if (value === null) return null;
  const runs = spread?.[`${protocol}.${path}`];
  const sampled = samplingInterval(result, path, value, context.windowSeconds) ?? undefined;
  if (runs !== undefined && runs.runs > 1) {
    return {
      value,
      low: Math.min(value, runs.min),
      high: Math.max(value, runs.max),
      runs: runs.values,
      sampled,
      source: "runs",
    };
  }
  if (sampled !== undefined) return { value, ...sampled, sampled, source: "sampling" };
  return { value, low: value, high: value, source: "point" };
}

function samplingInterval(
  result: ProtocolResult,
  path: string,
  value: number,
  windowSeconds: number,
): { low: number; high: number } | null {
  const [name, field] = path.split(".");
  const q = PERCENTILES[field ?? ""];
  if (name === undefined || q === undefined) return null;
  const summary = (result as unknown as Record<string, unknown>)[name] as
    | HistogramSummary
    | null
    | undefined;
  if (summary === null || summary === undefined || typeof summary.hdr !== "string") return null;
  if (summary.count === 0) return null;
  const samples = THROUGH_THE_WINDOW.has(name)
    ? Math.max(1, Math.min(summary.count, Math.floor(windowSeconds)))
    : 1;
  const half = Z_95 * Math.sqrt((q * (1 - q)) / samples);
  const hdr = decoded(summary);
  if (hdr === null) return null;
  const at = (quantile: number) =>
    hdr.getValueAtPercentile(Math.min(100, Math.max(0, quantile * 100))) / 1000;
  // Relative to the reported value, so a summary that was rounded or edited keeps its own scale.
  const atQ = at(q);
  const scale = (v: number) => (atQ > 0 ? (value * v) / atQ : v);
  return { low: Math.min(value, scale(at(q - half))), high: Math.max(value, scale(at(q + half))) };
}
