import Table from "cli-table3";
import type { Comparison } from "../gate/compare.js";
import type { ThresholdOutcome } from "../gate/thresholds.js";
import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import {
  bannerLines,
  headerLine,
  legendLines,
  noteLines,
  presentProtocols,
  wrap,
} from "./format.js";
import { formatValue } from "./numbers.js";
import { rowsFor } from "./rows.js";
import { timelineLines } from "./sparkline.js";
import {
  COMPARISON_LEGEND,
  comparisonSummary,
  formatChange,
  formatEvidence,
  isShownByDefault,
} from "./verdicts.js";

/**
 * Terminal reporters: `(input) => string`, no I/O, so they are tested
 * without a terminal. Plain characters only: CI logs mangle box drawing and
 * ANSI codes, so colour is opt-in (`color: true` when stdout is a TTY).
 */
export interface TableOptions {
  color?: boolean;
}

const WIDTH = 80;
const LABEL_WIDTH = 28;
const VALUE_WIDTH = 11;
const GAP = "  ";
/** A variant's name goes under its transport's in the heading: columns stay 11 wide. */
const HEADING_BREAK = "\n";

// No outer borders and two-space gaps: four protocol columns fit 80 columns exactly.
const PLAIN_CHARS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "-",
  "mid-mid": GAP,
  right: "",
  "right-mid": "",
  middle: GAP,
};

const PLAIN_STYLE = { "padding-left": 0, "padding-right": 0, head: [], border: [], compact: true };

const ansi = {
  bold: (s: string) => `\u001b[1m${s}\u001b[22m`,
  red: (s: string) => `\u001b[31m${s}\u001b[39m`,
  yellow: (s: string) => `\u001b[33m${s}\u001b[39m`,
  green: (s: string) => `\u001b[32m${s}\u001b[39m`,
};

/** cli-table3 pads the last column; trailing blanks only add noise to CI logs and diffs. */
function trimLines(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

function paint(color: boolean, how: (s: string) => string, text: string): string {
  return color ? how(text) : text;
}

function loud(lines: string[], color: boolean): string[] {
  return lines
    .flatMap((line) => wrap(line, WIDTH))
    .map((l) => paint(color, (s) => ansi.bold(ansi.red(s)), l));
}

/** The main result table: protocols as columns, one metric per row, units in the labels. */
export function renderTable(result: RunResult, options: TableOptions = {}): string {
  const color = options.color === true;
  const protocols = presentProtocols(result);
  const table = new Table({
    head: ["metric", ...protocols.map((p) => runLabel(p, HEADING_BREAK))].map((h) =>
      paint(color, ansi.bold, h),
    ),
    colWidths: [LABEL_WIDTH, ...protocols.map(() => VALUE_WIDTH)],
    colAligns: ["left", ...protocols.map(() => "right" as const)],
    chars: PLAIN_CHARS,
    style: PLAIN_STYLE,
  });
  for (const row of rowsFor(result)) {
    table.push([
      row.label,
      ...protocols.map((p) => row.cell(result.protocols[p] as ProtocolResult)),
    ]);
  }
  const banners = loud(bannerLines(result), color);
  const lines = [
    ...wrap(headerLine(result), WIDTH),
    ...noteLines(result).flatMap((line) => wrap(line, WIDTH)),
    ...banners,
  ];
  if (protocols.length === 0) lines.push("no protocol was measured");
  else {
    lines.push(trimLines(table.toString()));
    lines.push(...legendLines(result).flatMap((line) => wrap(line, WIDTH)));
  }
  const timeline = timelineLines(result, WIDTH);
  if (timeline.length > 0) lines.push("", ...timeline);
  // Repeated under the table: the eye lands on the last line of a long CI log.
  if (banners.length > 0) lines.push(...banners);
  return lines.join("\n");
}

export function renderThresholdTable(
  outcomes: readonly ThresholdOutcome[],
  options: TableOptions = {},
): string {
  const color = options.color === true;
  const table = new Table({
    head: ["threshold", "condition", "actual", "result"],
    chars: PLAIN_CHARS,
    style: PLAIN_STYLE,
  });
  for (const o of outcomes) {
    const verdict = o.pass ? paint(color, ansi.green, "pass") : paint(color, ansi.red, "FAIL");
    table.push([o.metric, o.condition, o.note ?? formatValue(o.actual, o.unit), verdict]);
  }
  const failed = outcomes.filter((o) => !o.pass).length;
  const summary =
    failed === 0
      ? `all ${outcomes.length} thresholds passed`
      : `${failed} of ${outcomes.length} thresholds failed`;
  return `${trimLines(table.toString())}\n${summary}`;
}

export interface ComparisonTableOptions extends TableOptions {
  /** Every compared metric instead of the judged ones and a few descriptive ones. */
  all?: boolean;
}

export function renderComparisonTable(
  comparison: Comparison,
  options: ComparisonTableOptions = {},
): string {
  const color = options.color === true;
  const table = new Table({
    head: ["metric", "baseline", "current", "change", "evidence", "verdict"],
    colAligns: ["left", "right", "right", "right", "left", "left"],
    chars: PLAIN_CHARS,
    style: PLAIN_STYLE,
  });
  for (const row of comparison.rows) {
    if (options.all !== true && !isShownByDefault(row)) continue;
    const verdict =
      row.verdict === "regressed"
        ? paint(color, (s) => ansi.bold(ansi.red(s)), "REGRESSED")
        : row.verdict === "worse"
          ? paint(color, ansi.yellow, "worse")
          : row.verdict === "better"
            ? paint(color, ansi.green, "better")
            : "ok";
    table.push([
      row.metric,
      formatValue(row.baseline, row.unit),
      formatValue(row.current, row.unit),
      formatChange(row),
      formatEvidence(row),
      verdict,
    ]);
  }
  const lines = [`comparison: ${comparison.scenario}`];
  for (const warning of comparison.warnings) lines.push(...wrap(`warning: ${warning}`, WIDTH));
  lines.push(
    trimLines(table.toString()),
    comparisonSummary(comparison.rows),
    ...wrap(COMPARISON_LEGEND, WIDTH),
  );
  return lines.join("\n");
}
