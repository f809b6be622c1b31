import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { renderBarChart } from "./charts/bar-chart.js";
import { type LineSeries, renderLineChart } from "./charts/line-chart.js";
import { NINES_TICKS, wantsLog } from "./charts/scale.js";
import { escapeXml, type MarkerShape, transportColor, transportMarker } from "./charts/svg.js";
import { presentProtocols } from "./format.js";
import {
  faultMarkers,
  type Measured,
  measuredBand,
  NINES_MAX,
  percentileCurve,
  perSecond,
  serverCpuPercent,
  timelineSeconds,
  timelineSeries,
  withTimeline,
} from "./series.js";

/**
 * The charts of the run report, one pure function each: the latency
 * percentile distribution, the timelines, the cost bars.
 */

/** Latency by percentile, every transport on one chart, as HdrHistogram plots it. */
export function latencyDistributionChart(
  curves: readonly {
    key: string;
    label: string;
    color: string;
    dash?: "dashed";
    marker?: MarkerShape;
    hdr: string;
  }[],
  options: { id: string; title: string; note?: string },
): string {
  const series: LineSeries[] = curves.map((c) => ({
    key: c.key,
    label: c.label,
    color: c.color,
    ...(c.dash ? { dash: c.dash } : {}),
    ...(c.marker ? { marker: c.marker } : {}),
    points: percentileCurve(c.hdr),
  }));
  const values = series.flatMap((s) => s.points.map((p) => p[1] ?? 0));
  const log = wantsLog(values);
  return renderLineChart({
    id: options.id,
    title: options.title,
    x: {
      label: "percentile (log scale of nines)",
      range: { min: 0, max: NINES_MAX },
      ticks: NINES_TICKS,
    },
    y: { label: log ? "latency, ms (log scale)" : "latency, ms", log, unit: "ms" },
    series,
    ...(options.note ? { note: options.note } : {}),
  });
}

/** How fast: the distribution over the window, and the percentiles and deliveries second by second. */
export function latencySection(result: RunResult): string {
  const curves = presentProtocols(result).map((p) => ({
    key: p,
    label: runLabel(p),
    color: transportColor(p),
    marker: transportMarker(p),
    hdr: (result.protocols[p] as ProtocolResult).latency.hdr,
  }));
  const distribution = latencyDistributionChart(curves, {
    id: "latency-percentiles",
    title: "Delivery latency by percentile (measured window)",
    note: "Scheduled publish time to receipt, every delivery of the window. Half the deliveries were faster than the value at 50%, one in ten thousand slower than the value at 99.99%.",
  });
  const timeline = timelineContext(result);
  const perSecondCharts =
    timeline === null
      ? []
      : [
          latencyOverTime(timeline, "p99", "latencyP99"),
          latencyOverTime(timeline, "p50", "latencyP50"),
          deliveriesChart(timeline),
        ];
  return `<section id="latency"><h2>Latency and deliveries</h2><div class="charts">${[distribution, ...perSecondCharts].join("")}</div></section>`;
}

/**
 * Every delivery per second (warmup and drain included), with the expected
 * ones, which the window's figures count, as a dashed line beside it. A
 * result from before `received` existed shows the expected ones alone.
 */
function deliveriesChart({ measured, common }: TimelineContext): string {
  const expected = timelineSeries(measured, (t, i) => perSecond(t.deliveries[i], t), {
    name: "expected",
    dash: "dashed",
  });
  const withAll = measured.filter((m) => m.timeline.received !== undefined);
  if (withAll.length === 0) {
    return renderLineChart({
      ...common,
      id: "deliveries",
      title: "Deliveries per second",
      y: { label: "deliveries / s", unit: "/s" },
      series: timelineSeries(measured, (t, i) => perSecond(t.deliveries[i], t)),
      note: "Expected messages received for the first time in each second.",
    });
  }
  const every = timelineSeries(withAll, (t, i) => perSecond(t.received?.[i], t), {
    name: "every delivery",
  });
  return renderLineChart({
    ...common,
    id: "deliveries",
    title: "Deliveries per second",
    y: { label: "deliveries / s", unit: "/s" },
    series: [...every, ...expected],
    styles: [
      { dash: "solid", label: "every delivery" },
      { dash: "dashed", label: "expected (counted in the window)" },
    ],
    note: "Messages received for the first time in each second: all of them (warmup and drain too), and, dashed, the expected ones that the window's figures count.",
  });
}

interface TimelineContext {
  measured: Measured[];
  common: Common;
}

/** The timelines of a result and what every timeline chart shares; null without timelines. */
function timelineContext(result: RunResult): TimelineContext | null {
  const measured = withTimeline(result);
  if (measured.length === 0) return null;
  return {
    measured,
    common: {
      x: {
        label: "seconds since ramp-up began",
        range: { min: 0, max: timelineSeconds(measured) },
      },
      markers: faultMarkers(result),
      bands: measuredBand(measured),
    },
  };
}

/** Connections over time: who was connected, breaks and reconnects, what it cost the servers. */
export function timelineSection(result: RunResult): string {
  const timeline = timelineContext(result);
  if (timeline === null) {
    return `<section id="timeline"><h2>Over time</h2><p class="note">This result has no per-second timeline (written by an older rtbench).</p></section>`;
  }
  const { measured, common } = timeline;
  const charts = [
    renderLineChart({
      ...common,
      id: "connected",
      title: "Clients connected",
      y: { label: "clients" },
      series: timelineSeries(measured, (t, i) => t.connectedMin[i] ?? null),
      note: "The fewest clients connected at any moment of each second: a dip shorter than a second still shows.",
    }),
    renderLineChart({
      ...common,
      id: "reconnects",
      title: "Breaks and reconnects per second",
      y: { label: "connections / s", unit: "/s" },
      series: [
        ...timelineSeries(measured, (t, i) => perSecond(t.reconnects[i], t), {
          name: "reconnects",
        }),
        ...timelineSeries(measured, (t, i) => perSecond(t.breaks[i], t), {
          name: "breaks",
          dash: "dashed",
        }),
      ],
      styles: [
        { dash: "solid", label: "reconnects" },
        { dash: "dashed", label: "breaks" },
      ],
    }),
    lineChartWithValues({
      ...common,
      id: "server-cpu",
      title: "Server CPU",
      y: { label: "CPU, % of one core", unit: "%" },
      series: timelineSeries(measured, serverCpuPercent),
      note: "All server instances together; a gap is a second in which no instance could be sampled.",
    }),
    renderLineChart({
      ...common,
      id: "generator-loop-delay",
      title: "Generator event-loop delay",
      y: { label: "loop delay p99, ms", unit: "ms", ...loopDelayGuide(measured) },
      series: timelineSeries(measured, (t, i) => t.loopDelayP99Ms[i] ?? null),
      note: "The worst of the generator's processes in each second. Above the scenario's limit, timings taken then are distorted.",
    }),
  ];
  return `<section id="timeline"><h2>Connections over time</h2><div class="charts">${charts.filter((c) => c !== "").join("")}</div></section>`;
}

/** The scenario's limit on the generator's loop delay, as a line on the chart. */
function loopDelayGuide(measured: readonly Measured[]) {
  const limit = measured[0]?.result.generator.eventLoopDelayLimitMs;
  return limit === undefined ? {} : { guide: { value: limit, label: `limit ${limit} ms` } };
}

type Common = Pick<Parameters<typeof renderLineChart>[0], "x" | "markers" | "bands">;

function latencyOverTime(
  { measured, common }: TimelineContext,
  name: "p99" | "p50",
  key: "latencyP99" | "latencyP50",
): string {
  const series = timelineSeries(measured, (t, i) => t[key][i] ?? null, { name });
  const log = wantsLog(series.flatMap((s) => s.points.map((p) => p[1] ?? 0)));
  return renderLineChart({
    ...common,
    id: `latency-${name}`,
    title: `Delivery latency ${name} per second`,
    y: { label: log ? "latency, ms (log scale)" : "latency, ms", log, unit: "ms" },
    series,
    note: `The ${name} of the deliveries received in each second.`,
  });
}

/** What a delivery cost each transport: wire bytes, HTTP requests, server CPU. */
export function costSection(result: RunResult): string {
  const protocols = presentProtocols(result);
  const bars = (value: (p: ProtocolResult) => number | null) =>
    protocols.map((name) => ({
      key: name,
      label: runLabel(name),
      color: transportColor(name),
      value: value(result.protocols[name] as ProtocolResult),
    }));
  const charts = [
    barChartWithValues({
      id: "bytes-per-delivery",
      title: "Bytes per delivery",
      axisLabel: "bytes on the wire per delivery (B)",
      bars: bars((p) => p.bytesPerDelivery),
      note: "Both directions, headers included, over the measured window.",
    }),
    barChartWithValues({
      id: "requests-per-delivery",
      title: "Requests per delivery",
      axisLabel: "HTTP requests per delivery",
      bars: bars((p) => p.requestsPerDelivery),
    }),
    barChartWithValues({
      id: "server-cpu-per-1k",
      title: "Server CPU per 1,000 deliveries",
      axisLabel: "CPU seconds per 1k deliveries (s)",
      bars: bars((p) => p.server.cpuSecondsPer1kDeliveries),
      note: "n/a where a server was restarted or not ours to sample.",
    }),
  ];
  return `<section id="cost"><h2>Cost per delivery</h2><div class="charts bars">${charts.join("")}</div></section>`;
}

/**
 * A chart whose every value is n/a (server CPU of a target rtbench did not
 * start, requests of streams that make none... ) says nothing: left out.
 */
function lineChartWithValues(spec: Parameters<typeof renderLineChart>[0]): string {
  const any = spec.series.some((s) => s.points.some((p) => p[1] !== null && p[1] !== undefined));
  return any ? renderLineChart(spec) : "";
}

function barChartWithValues(spec: Parameters<typeof renderBarChart>[0]): string {
  if (spec.bars.some((b) => b.value !== null)) return renderBarChart(spec);
  // Said in one line, so the reader knows the cost was not measured rather than missing.
  return `<p class="note" data-left-out="${escapeXml(spec.id)}">${escapeXml(spec.title)}: n/a for every transport${spec.note ? ` (${spec.note})` : ""}, so no chart.</p>`;
}
