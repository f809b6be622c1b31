import { formatNumber } from "../numbers.js";
import { linearScale, logScale, type Range, type Scale } from "./scale.js";
import { DASH, type DashStyle, escapeXml, type MarkerShape, markerSvg, px } from "./svg.js";

/** Markers per line: enough to follow it, few enough not to hide it. */
const MARKERS_PER_LINE = 8;

/**
 * A line chart as inline SVG with an HTML legend: pure, `(spec) => string`.
 * Several series overlaid (one per transport, possibly two styles each),
 * vertical markers with labels (faults) and shaded bands (the measured
 * window). Every point also carries its value in a <title>, which a
 * browser shows on hover.
 */
export interface LineSeries {
  /** What the series belongs to (a transport name): `data-series`, and one legend entry per key. */
  key: string;
  /** Legend text of the key. */
  label: string;
  /** What this line is, for hover titles ("p99"); empty when the key says it all. */
  name?: string;
  color: string;
  dash?: DashStyle;
  /** Drawn at a few points along the line and in the legend: tells lines of like colours apart. */
  marker?: MarkerShape;
  /** [x, y]; a null y breaks the line. */
  points: readonly (readonly [number, number | null])[];
  /**
   * Each point holds its value from x to x + step (one bucket of a
   * timeline), drawn as a step, so a change shows at the second it happened.
   */
  step?: number;
}

export interface LineChartSpec {
  /** `data-chart`, for tests and anchors. */
  id: string;
  title: string;
  x: { label: string; range: Range; ticks?: { value: number; label: string }[] };
  /** `guide`: a horizontal reference line (a limit), kept inside the axis. */
  y: { label: string; log?: boolean; unit?: string; guide?: { value: number; label: string } };
  series: readonly LineSeries[];
  markers?: readonly { x: number; label: string }[];
  bands?: readonly { from: number; to: number; label: string }[];
  /** Legend entries saying what each dash style means. */
  styles?: readonly { dash: DashStyle; label: string }[];
  /** A sentence under the chart. */
  note?: string;
}

// About the size it is shown at on a laptop, two charts a row, so text stays at its size.
const WIDTH = 600;
const HEIGHT = 270;
const MARGIN = { left: 62, right: 28, top: 32, bottom: 46 };
const PLOT = {
  left: MARGIN.left,
  right: WIDTH - MARGIN.right,
  top: MARGIN.top,
  bottom: HEIGHT - MARGIN.bottom,
};

export function renderLineChart(spec: LineChartSpec): string {
  const values = spec.series.flatMap((s) =>
    s.points.map((p) => p[1]).filter((v): v is number => v !== null && Number.isFinite(v)),
  );
  const x = xScale(spec);
  const guide = spec.y.guide;
  const y = yScale(spec, guide && values.length > 0 ? [...values, guide.value] : values);
  const body =
    values.length === 0
      ? `<text class="empty" x="${px((PLOT.left + PLOT.right) / 2)}" y="${px((PLOT.top + PLOT.bottom) / 2)}" text-anchor="middle">no data</text>`
      : spec.series.map((s) => seriesPath(s, x, y, spec.y.unit)).join("");
  const svg = [
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}">`,
    ...(spec.bands ?? []).map((b) => band(b, x)),
    grid(x, y),
    axes(spec, x, y),
    body,
    guide && values.length > 0 ? guideLine(guide, y) : "",
    ...(spec.markers ?? []).map((m, i) => marker(m, i, x)),
    "</svg>",
  ].join("");
  return figure(spec.id, spec.title, svg, legend(spec), spec.note);
}

/** The figure around a chart: caption, drawing, legend, note. */
export function figure(
  id: string,
  title: string,
  svg: string,
  legendHtml: string,
  note?: string,
): string {
  const noteHtml = note ? `<p class="note">${escapeXml(note)}</p>` : "";
  return `<figure class="chart" data-chart="${escapeXml(id)}" id="chart-${escapeXml(id)}"><figcaption>${escapeXml(title)}</figcaption>${svg}${legendHtml}${noteHtml}</figure>\n`;
}

function xScale(spec: LineChartSpec): Scale & Range {
  const scale = linearScale(spec.x.range, [PLOT.left, PLOT.right], formatNumber, 8);
  if (spec.x.ticks === undefined) return scale;
  // Fixed ticks (the nines axis): the range as given, not widened.
  const { min, max } = spec.x.range;
  return {
    min,
    max,
    ticks: spec.x.ticks,
    at: (v) => PLOT.left + ((v - min) / (max - min)) * (PLOT.right - PLOT.left),
  };
}

function yScale(spec: LineChartSpec, values: number[]): Scale & Range {
  const pixels: [number, number] = [PLOT.bottom, PLOT.top];
  const positive = values.filter((v) => v > 0);
  if (spec.y.log === true && positive.length > 0) {
    return logScale(
      { min: Math.min(...positive), max: Math.max(...positive) },
      pixels,
      formatNumber,
    );
  }
  const max = values.length > 0 ? Math.max(...values) : 1;
  return linearScale({ min: 0, max: max > 0 ? max : 1 }, pixels, formatNumber);
}

function grid(x: Scale, y: Scale): string {
  const lines = [
    ...y.ticks.map(
      (t) =>
        `<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${px(y.at(t.value))}" y2="${px(y.at(t.value))}"/>`,
    ),
    ...x.ticks.map(
      (t) =>
        `<line class="grid" x1="${px(x.at(t.value))}" x2="${px(x.at(t.value))}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`,
    ),
  ];
  return `<g>${lines.join("")}</g>`;
}

function axes(spec: LineChartSpec, x: Scale, y: Scale): string {
  const xTicks = x.ticks
    .map(
      (t) =>
        `<text class="tick" x="${px(x.at(t.value))}" y="${PLOT.bottom + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    )
    .join("");
  const yTicks = y.ticks
    .map(
      (t) =>
        `<text class="tick" x="${PLOT.left - 6}" y="${px(y.at(t.value) + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`,
    )
    .join("");
  const midY = (PLOT.top + PLOT.bottom) / 2;
  return [
    `<line class="axis" x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}"/>`,
    `<line class="axis" x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`,
    xTicks,
    yTicks,
    `<text class="axis-label" x="${px((PLOT.left + PLOT.right) / 2)}" y="${HEIGHT - 8}" text-anchor="middle">${escapeXml(spec.x.label)}</text>`,
    `<text class="axis-label" transform="translate(16 ${px(midY)}) rotate(-90)" text-anchor="middle">${escapeXml(spec.y.label)}</text>`,
  ].join("");
}

function seriesPath(s: LineSeries, x: Scale, y: Scale, unit = ""): string {
  const commands: string[] = [];
  const dots: string[] = [];
  let drawn = 0;
  s.points.forEach(([xv, yv], i) => {
    if (yv === null || !Number.isFinite(yv)) return;
    const previous = s.points[i - 1]?.[1] ?? null;
    const next = s.points[i + 1]?.[1] ?? null;
    const yPx = px(y.at(yv));
    if (s.step !== undefined) {
      commands.push(
        `${previous === null ? "M" : "L"}${px(x.at(xv))} ${yPx}H${px(x.at(xv + s.step))}`,
      );
    } else {
      commands.push(`${previous === null ? "M" : "L"}${px(x.at(xv))} ${yPx}`);
      // A point with no neighbour draws no line: mark it.
      if (previous === null && next === null) {
        dots.push(`<circle cx="${px(x.at(xv))}" cy="${yPx}" r="2.5" fill="${s.color}"/>`);
      }
    }
    drawn++;
  });
  if (s.marker !== undefined) dots.push(...lineMarkers(s, s.marker, x, y));
  const title = `${s.label}${s.name ? ` ${s.name}` : ""}`;
  const dash = s.dash && DASH[s.dash] ? ` stroke-dasharray="${DASH[s.dash]}"` : "";
  const unitText = unit ? ` ${unit}` : "";
  const peak = Math.max(...s.points.map((p) => p[1] ?? Number.NEGATIVE_INFINITY));
  const hover = Number.isFinite(peak) ? `, highest ${formatNumber(peak)}${unitText}` : "";
  return `<g class="series" data-series="${escapeXml(s.key)}" data-points="${drawn}"><title>${escapeXml(title + hover)}</title><path d="${commands.join("")}" fill="none" stroke="${s.color}" stroke-width="2"${dash} stroke-linejoin="round"/>${dots.join("")}</g>`;
}

/** Markers at evenly spaced drawn points (a step's middle), each series offset so they do not stack. */
function lineMarkers(s: LineSeries, shape: MarkerShape, x: Scale, y: Scale): string[] {
  const drawn = s.points.filter(([, yv]) => yv !== null && Number.isFinite(yv));
  if (drawn.length === 0) return [];
  const every = Math.max(1, Math.floor(drawn.length / MARKERS_PER_LINE));
  const shift = s.key.length % every;
  const markers: string[] = [];
  for (let i = shift; i < drawn.length; i += every) {
    const [xv, yv] = drawn[i] as readonly [number, number];
    markers.push(markerSvg(shape, x.at(xv + (s.step ?? 0) / 2), y.at(yv), s.color));
  }
  return markers;
}

function band(b: { from: number; to: number; label: string }, x: Scale & Range): string {
  const from = x.at(Math.max(b.from, x.min));
  const to = x.at(Math.min(b.to, x.max));
  if (!(to > from)) return "";
  return `<rect class="band" x="${px(from)}" y="${PLOT.top}" width="${px(to - from)}" height="${PLOT.bottom - PLOT.top}"/><text class="band-label" x="${px(from + 4)}" y="${PLOT.top + 12}">${escapeXml(b.label)}</text>`;
}

function guideLine(guide: { value: number; label: string }, y: Scale): string {
  const at = px(y.at(guide.value));
  return `<g class="guide"><line x1="${PLOT.left}" x2="${PLOT.right}" y1="${at}" y2="${at}"/><text x="${PLOT.right - 4}" y="${px(y.at(guide.value) - 4)}" text-anchor="end">${escapeXml(guide.label)}</text></g>`;
}

function marker(m: { x: number; label: string }, index: number, x: Scale): string {
  const at = px(x.at(m.x));
  // Alternate label heights so markers a second apart do not print over each other.
  const labelY = index % 2 === 0 ? 12 : 24;
  return `<g class="marker"><line x1="${at}" x2="${at}" y1="${labelY + 3}" y2="${PLOT.bottom}"/><text x="${at}" y="${labelY}" text-anchor="middle">${escapeXml(m.label)}</text></g>`;
}

function legend(spec: LineChartSpec): string {
  const seen = new Set<string>();
  const entries: string[] = [];
  for (const s of spec.series) {
    if (seen.has(s.key)) continue;
    seen.add(s.key);
    entries.push(legendEntry(s.label, s.color, s.dash ?? "", s.marker));
  }
  for (const style of spec.styles ?? []) entries.push(legendEntry(style.label, "#555", style.dash));
  if ((spec.markers ?? []).length > 0) {
    entries.push(legendEntry("fault", "#222", "dotted"));
  }
  if ((spec.bands ?? []).length > 0) {
    entries.push(
      `<li><svg width="26" height="12" aria-hidden="true"><rect class="band" width="26" height="12"/></svg>${escapeXml((spec.bands ?? [])[0]?.label ?? "")}</li>`,
    );
  }
  return `<ul class="legend">${entries.join("")}</ul>`;
}

export function legendEntry(
  label: string,
  color: string,
  dash: DashStyle | "",
  marker?: MarkerShape,
): string {
  const dashAttr = dash && DASH[dash] ? ` stroke-dasharray="${DASH[dash]}"` : "";
  const shape = marker === undefined ? "" : markerSvg(marker, 13, 6, color);
  return `<li><svg width="26" height="12" aria-hidden="true"><line x1="1" x2="25" y1="6" y2="6" stroke="${color}" stroke-width="2.5"${dashAttr}/>${shape}</svg>${escapeXml(label)}</li>`;
}
