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
  const { protocol, variant } = splitRunKey(name);
  const base = Math.max(0, transportNames().indexOf(protocol));
  // A variant (`websocket@sticky`) gets a colour of its own, the same in every chart.
  const offset = variant === null ? 0 : 1 + [...variant].reduce((h, c) => h + c.charCodeAt(0), 0);
  return PALETTE[(base + offset) % PALETTE.length] as string;
}

/** Dash patterns that tell two series of one colour apart (p99 solid, p50 dashed). */
export const DASH = { solid: "", dashed: "6 4", dotted: "2 3" } as const;
export type DashStyle = keyof typeof DASH;
