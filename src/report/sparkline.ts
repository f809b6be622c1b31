import { runLabel } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import { wrap } from "./format.js";
import { formatNumber } from "./numbers.js";
import { faultBucket, faultMarkers, withTimeline } from "./series.js";

/**
 * Under the terminal table, when a fault fired: one line per transport with
 * its clients connected across the run, so the outage and the recovery show
 * without opening the HTML page. Plain ASCII, like the table: CI logs keep it.
 */
const LEVELS = "_.:-=+*#";
const LABEL_WIDTH = 12;

/** The sparkline of `values` scaled to `full`: "_" none, "#" all; " " for no value. */
export function sparkline(values: readonly (number | null)[], full: number): string {
  return values
    .map((v) => {
      if (v === null) return " ";
      if (full <= 0) return LEVELS[0];
      const share = Math.max(0, Math.min(1, v / full));
      // Only "all of them" earns the top level, only "none" the bottom one.
      if (share >= 1) return LEVELS[LEVELS.length - 1];
      if (share <= 0) return LEVELS[0];
      return LEVELS[1 + Math.floor(share * (LEVELS.length - 2))];
    })
    .join("");
}

/** Groups of `size` seconds, each its lowest value: a dip is never averaged away. */
export function lowestPer(values: readonly number[], size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += size) out.push(Math.min(...values.slice(i, i + size)));
  return out;
}

export function timelineLines(result: RunResult, width = 80): string[] {
  const markers = faultMarkers(result);
  const measured = withTimeline(result);
  if (markers.length === 0 || measured.length === 0) return [];
  const seconds = Math.max(...measured.map((m) => m.timeline.buckets));
  const room = width - LABEL_WIDTH - 1;
  const perChar = Math.ceil(seconds / room);
  const marks = new Array<string>(Math.ceil(seconds / perChar)).fill(" ");
  for (const m of markers) {
    const at = Math.floor(faultBucket(m.x * 1000, 1000) / perChar);
    if (at >= 0 && at < marks.length) marks[at] = "v";
  }
  const faults = markers.map((m) => `${m.label} at ${formatNumber(m.x)} s`).join(", ");
  const lines = [
    ...wrap(
      `clients connected, 1 char = ${perChar} s from ramp-up ("_" none .. "#" all; v: ${faults})`,
      width,
    ),
    `${" ".repeat(LABEL_WIDTH + 1)}${marks.join("").trimEnd()}`,
  ];
  for (const { protocol, result: p, timeline } of measured) {
    const line = sparkline(lowestPer(timeline.connectedMin, perChar), p.clients);
    lines.push(`${runLabel(protocol).padEnd(LABEL_WIDTH)} ${line}`);
  }
  return lines;
}
