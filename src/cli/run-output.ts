import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Comparison } from "../gate/compare.js";
import type { GatedResult } from "../gate/gate.js";
import type { MedianResult } from "../gate/repeat.js";
import type { ThresholdOutcome } from "../gate/thresholds.js";
import type { RunResult } from "../metrics/types.js";
import { renderHtml } from "../report/html.js";
import { renderJson } from "../report/json.js";
import {
  renderComparisonMarkdown,
  renderMarkdown,
  renderThresholdMarkdown,
} from "../report/markdown.js";
import { renderSpreadMarkdown, renderSpreadTable } from "../report/spread.js";
import { renderComparisonTable, renderTable, renderThresholdTable } from "../report/table.js";
import { regressionLines, thresholdFailureLines } from "../report/verdicts.js";
import { writeResult } from "./measure.js";

/**
 * Where `rtbench run` puts what it measured: the tables on stdout (or the
 * JSON, with the tables on stderr), a GitHub job summary, an HTML page, and
 * the lines that say why the exit code is not 0.
 */

/** The flags that decide where a run's output goes. */
export interface OutputFlags {
  out: string;
  json?: boolean;
  quiet?: boolean;
  html?: string;
}

/**
 * A run that failed part-way (a server that would not start for the third
 * protocol) still shows and keeps what the protocols before it measured.
 */
export async function reportFailure(result: RunResult, flags: OutputFlags): Promise<void> {
  if (Object.keys(result.protocols).length === 0) return;
  const file = await writeResult(result, flags.out, "-failed");
  await writeHtml(result, flags);
  if (flags.json) process.stdout.write(`${renderJson(result)}\n`);
  else process.stdout.write(`${renderTable(result, { color: process.stdout.isTTY === true })}\n`);
  if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
}

export interface GateReport {
  outcomes: ThresholdOutcome[] | null;
  comparison: Comparison | null;
  spread: MedianResult["spread"] | undefined;
}

/**
 * The human tables go to stdout; with --json stdout holds only the JSON, so
 * the gate's tables move to stderr where CI logs still show them.
 */
export function printReport(result: GatedResult, report: GateReport, flags: OutputFlags): void {
  const parts: string[] = [];
  const color = (flags.json ? process.stderr : process.stdout).isTTY === true;
  if (!flags.json) parts.push(renderTable(result, { color }));
  if (report.spread !== undefined) parts.push(renderSpreadTable(report.spread));
  if (report.outcomes !== null) parts.push(renderThresholdTable(report.outcomes, { color }));
  if (report.comparison !== null) parts.push(renderComparisonTable(report.comparison, { color }));
  if (flags.json) {
    process.stdout.write(`${renderJson(result)}\n`);
    if (!flags.quiet && parts.length > 0) process.stderr.write(`${parts.join("\n\n")}\n`);
  } else {
    process.stdout.write(`${parts.join("\n\n")}\n`);
  }
}

export function summaryMarkdown(
  result: GatedResult,
  report: GateReport,
  htmlFile?: string,
): string {
  const parts = [renderMarkdown(result)];
  // The page itself is an artifact the CI job keeps; the summary says where it is.
  if (htmlFile !== undefined) parts.push(`Charts: [${basename(htmlFile)}](${htmlFile})\n`);
  if (report.spread !== undefined) parts.push(renderSpreadMarkdown(report.spread));
  if (report.outcomes !== null) parts.push(renderThresholdMarkdown(report.outcomes));
  if (report.comparison !== null) parts.push(renderComparisonMarkdown(report.comparison));
  return `${parts.join("\n")}\n`;
}

/** Always printed, also with --quiet: this is why the exit code is 1. */
export function printFailures(
  outcomes: ThresholdOutcome[] | null,
  comparison: Comparison | null,
  baselineFile: string | undefined,
): void {
  const lines: string[] = [];
  const failed = outcomes?.filter((o) => !o.pass).length ?? 0;
  if (outcomes !== null && failed > 0) {
    lines.push(
      `error: ${failed} of ${outcomes.length} threshold${outcomes.length === 1 ? "" : "s"} failed`,
    );
    lines.push(...thresholdFailureLines(outcomes).map((l) => `  ${l}`));
  }
  if (comparison !== null && comparison.regressions.length > 0) {
    const n = comparison.regressions.length;
    lines.push(`error: ${n} metric${n === 1 ? "" : "s"} regressed against ${baselineFile}`);
    lines.push(...regressionLines(comparison.regressions).map((l) => `  ${l}`));
  }
  if (lines.length > 0) process.stderr.write(`${lines.join("\n")}\n`);
}

/** `--html FILE`: the same result as a page with charts. */
export async function writeHtml(result: RunResult, flags: OutputFlags): Promise<void> {
  if (flags.html !== undefined) await writeFile(flags.html, renderHtml(result));
}
