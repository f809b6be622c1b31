import type { Comparison } from "../gate/compare.js";
import type { ThresholdOutcome } from "../gate/thresholds.js";
import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { bannerLines, headerLine, legendLines, presentProtocols } from "./format.js";
import { formatValue } from "./numbers.js";
import { rowsFor } from "./rows.js";
import {
  COMPARISON_LEGEND,
  comparisonSummary,
  formatChange,
  formatEvidence,
  isShownByDefault,
} from "./verdicts.js";

/**
 * Markdown reporters (for `--summary FILE` and $GITHUB_STEP_SUMMARY): the
 * same content as the terminal tables, as GitHub-flavoured Markdown.
 */

function escapeCell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function markdownTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ("l" | "r")[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  const rule = `|${align.map((a) => (a === "r" ? "---:" : ":---")).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

function loud(lines: string[]): string[] {
  return lines.map((l) => `> **${escapeCell(l)}**`);
}

export function renderMarkdown(result: RunResult): string {
  const protocols = presentProtocols(result);
  const parts = [`### rtbench: ${escapeCell(headerLine(result))}`];
  const banners = bannerLines(result);
  if (banners.length > 0) parts.push(loud(banners).join("\n>\n"));
  if (protocols.length === 0) {
    parts.push("No protocol was measured.");
  } else {
    parts.push(
      markdownTable(
        ["metric", ...protocols.map((p) => runLabel(p))],
        rowsFor(result).map((row) => [
          row.label,
          ...protocols.map((p) => row.cell(result.protocols[p] as ProtocolResult)),
        ]),
        ["l", ...protocols.map(() => "r" as const)],
      ),
    );
    parts.push(...legendLines(result).map((line) => `<sub>${escapeCell(line)}</sub>`));
  }
  return `${parts.join("\n\n")}\n`;
}

export function renderThresholdMarkdown(outcomes: readonly ThresholdOutcome[]): string {
  const failed = outcomes.filter((o) => !o.pass).length;
  const table = markdownTable(
    ["threshold", "condition", "actual", "result"],
    outcomes.map((o) => [
      `\`${o.metric}\``,
      `\`${o.condition}\``,
      o.note ?? formatValue(o.actual, o.unit),
      o.pass ? "✅ pass" : "❌ FAIL",
    ]),
    ["l", "l", "r", "l"],
  );
  const summary =
    failed === 0
      ? `All ${outcomes.length} thresholds passed.`
      : `**${failed} of ${outcomes.length} thresholds failed.**`;
  return `### Thresholds\n\n${table}\n\n${summary}\n`;
}

const VERDICT_MARKS = {
  ok: "ok",
  better: "better",
  worse: "worse",
  regressed: "❌ **REGRESSED**",
} as const;

export function renderComparisonMarkdown(
  comparison: Comparison,
  options: { all?: boolean } = {},
): string {
  const rows = comparison.rows
    .filter((row) => options.all === true || isShownByDefault(row))
    .map((row) => [
      `\`${row.metric}\``,
      formatValue(row.baseline, row.unit),
      formatValue(row.current, row.unit),
      formatChange(row),
      formatEvidence(row),
      VERDICT_MARKS[row.verdict],
    ]);
  const parts = [`### Comparison: ${escapeCell(comparison.scenario)}`];
  if (comparison.warnings.length > 0) {
    parts.push(comparison.warnings.map((w) => `> ⚠️ ${escapeCell(w)}`).join("\n>\n"));
  }
  parts.push(
    markdownTable(["metric", "baseline", "current", "change", "evidence", "verdict"], rows, [
      "l",
      "r",
      "r",
      "r",
      "l",
      "l",
    ]),
    comparisonSummary(comparison.rows),
    `<sub>${escapeCell(COMPARISON_LEGEND)}</sub>`,
  );
  return `${parts.join("\n\n")}\n`;
}
