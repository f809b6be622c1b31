import { decodeHistogram } from "../metrics/histogram.js";
import type { ProtocolTimeline } from "../metrics/protocol-timeline.js";
import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import type { LineSeries } from "./charts/line-chart.js";
import type { DashStyle } from "./charts/svg.js";
import { transportColor, transportMarker } from "./charts/svg.js";
import { presentProtocols } from "./format.js";

/**
 * What the reports draw, taken out of a result: percentile curves from the
 * encoded histograms, series from the per-second timeline, fault markers.
 * Pure functions of the result, for the HTML page and the terminal's lines.
 */

/** The nines axis runs to 99.99%: four nines. */
export const NINES_MAX = 4;
const NINES_STEP = 0.05;

/** [position on the nines axis, latency ms] from 0% to 99.99%; empty for an empty histogram. */
export function percentileCurve(hdr: string): [number, number][] {
  const { hdr: h } = decodeHistogram(hdr);
  if (h.totalCount === 0) return [];
  const points: [number, number][] = [];
  for (let x = 0; x <= NINES_MAX + 1e-9; x += NINES_STEP) {
    const percentile = 100 * (1 - 10 ** -x);
    points.push([x, h.getValueAtPercentile(percentile) / 1000]);
  }
  return points;
}

export interface Measured {
  protocol: string;
  result: ProtocolResult;
  timeline: ProtocolTimeline;
}

/** The protocols of a result that carry a timeline, in table order. */
export function withTimeline(result: RunResult): Measured[] {
  return presentProtocols(result).flatMap((protocol) => {
    const p = result.protocols[protocol] as ProtocolResult;
    return p.timeline ? [{ protocol, result: p, timeline: p.timeline }] : [];
  });
}

/** One line per protocol: `pick` gives the value of bucket i, held over its second. */
export function timelineSeries(
  measured: readonly Measured[],
  pick: (t: ProtocolTimeline, i: number) => number | null,
  style: { name?: string; dash?: DashStyle } = {},
): LineSeries[] {
  return measured.map(({ protocol, timeline }) => {
    const seconds = timeline.bucketMs / 1000;
    return {
      key: protocol,
      label: runLabel(protocol),
      color: transportColor(protocol),
      marker: transportMarker(protocol),
      ...style,
      step: seconds,
      points: Array.from(
        { length: timeline.buckets },
        (_, i) => [i * seconds, pick(timeline, i)] as const,
      ),
    };
  });
}

/** Server CPU of a second as % of one core, over the instances that answered; null if none did. */
export function serverCpuPercent(t: ProtocolTimeline, i: number): number | null {
  let total = 0;
  let answered = 0;
  for (const server of t.servers) {
    const ms = server.cpuMs[i];
    if (ms === null || ms === undefined) continue;
    total += ms;
    answered++;
  }
  return answered === 0 ? null : (total / t.bucketMs) * 100;
}

/** Per second rate of a per-bucket count. */
export function perSecond(count: number | undefined, t: ProtocolTimeline): number {
  return ((count ?? 0) * 1000) / t.bucketMs;
}

/**
 * The timeline bucket a fault belongs to. A fault's timer may fire a
 * fraction of a millisecond before its second begins (timers run on the
 * event loop's millisecond clock, the record on the monotonic one): a fault
 * "at 20s" recorded at 19999.6 ms is the fault of second 20.
 */
export function faultBucket(atMs: number, bucketMs: number): number {
  return Math.floor((atMs + 1) / bucketMs);
}

/** The faults, as chart markers in seconds from ramp start: when each fired and when it ended. */
export function faultMarkers(result: RunResult): { x: number; label: string }[] {
  // Every protocol's run fires the same faults at the same times; the first that has them speaks.
  const faults =
    presentProtocols(result)
      .map((p) => result.protocols[p]?.faults ?? [])
      .find((f) => f.length > 0) ?? [];
  return faults.flatMap((f) => {
    const where =
      f.instance === null ? "" : f.instance === "all" ? "all instances" : `instance ${f.instance}`;
    const fired = { x: f.firedAtMs / 1000, label: `${f.action} ${where}`.trim() };
    if (f.endedAtMs === undefined) return [fired];
    const ended =
      f.action === "kill" || f.action === "restart" ? `${where} back` : `${f.action} over`;
    return [fired, { x: f.endedAtMs / 1000, label: ended }];
  });
}

/** The run's length in seconds: the longest timeline. */
export function timelineSeconds(measured: readonly Measured[]): number {
  return Math.max(1, ...measured.map((m) => (m.timeline.buckets * m.timeline.bucketMs) / 1000));
}

/** The measured window of the first timeline, in seconds from ramp start. */
export function measuredBand(measured: readonly Measured[]) {
  const first = measured[0];
  if (first === undefined) return [];
  const { measureStartMs, measureEndMs } = first.timeline.phases;
  return [{ from: measureStartMs / 1000, to: measureEndMs / 1000, label: "measured window" }];
}
