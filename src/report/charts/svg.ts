import { splitRunKey } from "../../metrics/run-keys.js";
import { transportNames } from "../../shared/transports.js";

/** Text for HTML and SVG: element content and attribute values alike. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A coordinate with at most one decimal: enough on screen and in print, short in the file. */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * Okabe and Ito's palette, which readers with any common colour-vision
 * deficiency tell apart (yellow left out: it vanishes on white).
 */
const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#000000"];

/**
 * A transport's colour, the same on every chart and page: by its row's
 * place among the transports, so a run of two transports keeps the colours
 * of a run of five.
 */
export function transportColor(name: string): string {
  return PALETTE[paletteIndex(name)] as string;
}

/**
 * A marker shape per colour, so lines are told apart by more than hue: the
 * palette's two blues (long poll, WebSocket) look alike to many readers, on
 * a projector and in print.
 */
const MARKERS = ["circle", "square", "triangle", "diamond", "cross", "circle", "square"] as const;
export type MarkerShape = (typeof MARKERS)[number];

export function transportMarker(name: string): MarkerShape {
  return MARKERS[paletteIndex(name)] as MarkerShape;
}

function paletteIndex(name: string): number {
  const { protocol, variant } = splitRunKey(name);
  const base = Math.max(0, transportNames().indexOf(protocol));
  // A variant (`websocket@sticky`) gets a colour of its own, the same in every chart.
  const offset = variant === null ? 0 : 1 + [...variant].reduce((h, c) => h + c.charCodeAt(0), 0);
  return (base + offset) % PALETTE.length;
}

/** A marker centred on (x, y), in the series' colour. */
export function markerSvg(shape: MarkerShape, x: number, y: number, color: string): string {
  const r = 3.5;
  switch (shape) {
    case "circle":
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${r}" fill="${color}"/>`;
    case "square":
      return `<rect x="${px(x - r)}" y="${px(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case "triangle":
      return `<path d="M${px(x)} ${px(y - r - 0.5)}L${px(x + r + 0.5)} ${px(y + r)}L${px(x - r - 0.5)} ${px(y + r)}Z" fill="${color}"/>`;
    case "diamond":
      return `<path d="M${px(x)} ${px(y - r - 1)}L${px(x + r + 1)} ${px(y)}L${px(x)} ${px(y + r + 1)}L${px(x - r - 1)} ${px(y)}Z" fill="${color}"/>`;
    case "cross":
      return `<path d="M${px(x - r)} ${px(y - r)}L${px(x + r)} ${px(y + r)}M${px(x + r)} ${px(y - r)}L${px(x - r)} ${px(y + r)}" stroke="${color}" stroke-width="2"/>`;
  }
}

/** Dash patterns that tell two series of one colour apart (p99 solid, p50 dashed). */
export const DASH = { solid: "", dashed: "6 4", dotted: "2 3" } as const;
export type DashStyle = keyof typeof DASH;
