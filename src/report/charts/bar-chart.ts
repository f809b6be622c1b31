import { formatNumber, NA } from "../numbers.js";
import { figure, legendEntry } from "./line-chart.js";
import { linearScale } from "./scale.js";
import { escapeXml, px } from "./svg.js";

/**
 * A horizontal bar chart as inline SVG: one bar per transport, its value
 * printed beside it, "n/a" where the value could not be measured.
 */
export interface Bar {
  key: string;
  label: string;
  color: string;
  value: number | null;
}

export interface BarChartSpec {
  id: string;
  title: string;
  /** The value axis, with its unit: "bytes per delivery (B)". */
  axisLabel: string;
  bars: readonly Bar[];
  note?: string;
}

const WIDTH = 420;
const LABEL_WIDTH = 96;
const VALUE_ROOM = 56;
const BAR_HEIGHT = 20;
const GAP = 8;
const TOP = 8;
const BOTTOM = 40;

export function renderBarChart(spec: BarChartSpec): string {
  const measured = spec.bars.map((b) => b.value).filter((v): v is number => v !== null);
  const height = TOP + spec.bars.length * (BAR_HEIGHT + GAP) + BOTTOM;
  const plotBottom = height - BOTTOM;
  const max = measured.length > 0 ? Math.max(...measured) : 0;
  const x = linearScale(
    { min: 0, max: max > 0 ? max : 1 },
    [LABEL_WIDTH, WIDTH - VALUE_ROOM],
    formatNumber,
    4,
  );
  const rows = spec.bars.map((bar, i) => {
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const width = bar.value === null ? 0 : Math.max(1, x.at(bar.value) - LABEL_WIDTH);
    const text = bar.value === null ? NA : formatNumber(bar.value);
    return [
      `<g class="bar" data-series="${escapeXml(bar.key)}" data-value="${bar.value ?? ""}">`,
      `<title>${escapeXml(`${bar.label}: ${text}`)}</title>`,
      `<text class="tick" x="${LABEL_WIDTH - 6}" y="${px(y + BAR_HEIGHT / 2 + 4)}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${px(width)}" height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
      `<text class="value" x="${px(LABEL_WIDTH + width + 4)}" y="${px(y + BAR_HEIGHT / 2 + 4)}">${escapeXml(text)}</text>`,
      "</g>",
    ].join("");
  });
  const ticks = x.ticks
    .map(
      (t) =>
        `<line class="grid" x1="${px(x.at(t.value))}" x2="${px(x.at(t.value))}" y1="${TOP}" y2="${plotBottom}"/><text class="tick" x="${px(x.at(t.value))}" y="${plotBottom + 14}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    )
    .join("");
  const svg = [
    `<svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
    ticks,
    `<line class="axis" x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH}" y1="${TOP}" y2="${plotBottom}"/>`,
    rows.join(""),
    `<text class="axis-label" x="${px((LABEL_WIDTH + WIDTH - VALUE_ROOM) / 2)}" y="${height - 6}" text-anchor="middle">${escapeXml(spec.axisLabel)}</text>`,
    "</svg>",
  ].join("");
  const legend = `<ul class="legend">${spec.bars.map((b) => legendEntry(b.label, b.color, "")).join("")}</ul>`;
  return figure(spec.id, spec.title, svg, legend, spec.note);
}
