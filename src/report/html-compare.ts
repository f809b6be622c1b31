import type { Comparison, ComparisonRow } from "../gate/compare.js";
import { orderRunKeys, runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { escapeXml, transportColor } from "./charts/svg.js";
import { headerLine } from "./format.js";
import { latencyDistributionChart } from "./html-charts.js";
import { bannersHtml, htmlPage } from "./html-page.js";
import { formatValue } from "./numbers.js";
import {
  COMPARISON_LEGEND,
  comparisonSummary,
  formatChange,
  formatEvidence,
  isShownByDefault,
} from "./verdicts.js";

/**
 * `rtbench compare --format html`: the baseline's and the current run's
 * latency percentile curves on one chart per transport, and the verdict
 * table. Reads the comparison's rows as they come, so a richer comparison
 * (more columns, other verdicts) shows without changes here.
 */
export interface ComparedFiles {
  baseline: { file: string; result: RunResult };
  current: { file: string; result: RunResult };
}

export function renderComparisonHtml(
  files: ComparedFiles,
  comparison: Comparison,
  options: { all?: boolean } = {},
): string {
  const title = `Comparison: ${comparison.scenario}`;
  const body = [
    `<header><h1>${escapeXml(title)}</h1>`,
    `<p class="meta">baseline ${escapeXml(describe(files.baseline))}<br>current ${escapeXml(describe(files.current))}</p></header>`,
    bannersHtml(comparison.warnings.map((w) => `warning: ${w}`)),
    `<p><strong>${escapeXml(comparisonSummary(comparison.rows))}</strong></p>`,
    curvesSection(files),
    verdictSection(comparison, options.all === true),
  ];
  return htmlPage(`rtbench: ${title}`, body.join("\n"));
}

function describe(side: { file: string; result: RunResult }): string {
  return `${side.file} · ${headerLine(side.result)} · ${side.result.startedAt}`;
}

const VERDICT_CLASS: Record<string, string> = { regressed: "loud-cell", worse: "warn-cell" };

function verdictSection(comparison: Comparison, all: boolean): string {
  const rows = comparison.rows.filter((row) => all || isShownByDefault(row)).map(verdictRow);
  const head = ["metric", "baseline", "current", "change", "evidence", "verdict"]
    .map((h, i) => `<th${i > 0 && i < 4 ? ' class="n"' : ""}>${h}</th>`)
    .join("");
  const shown = all ? "every compared metric" : "the judged metrics and every change";
  return `<section id="verdicts"><h2>Verdicts</h2><p class="note">${shown}</p><div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join("\n")}</tbody></table></div><p class="note">${escapeXml(COMPARISON_LEGEND)}</p></section>`;
}

export function verdictRow(row: ComparisonRow): string {
  const verdict = row.verdict === "regressed" ? "REGRESSED" : row.verdict;
  const cls = VERDICT_CLASS[row.verdict];
  return `<tr><td><code>${escapeXml(row.metric)}</code></td><td class="n">${escapeXml(formatValue(row.baseline, row.unit))}</td><td class="n">${escapeXml(formatValue(row.current, row.unit))}</td><td class="n">${escapeXml(formatChange(row))}</td><td>${escapeXml(formatEvidence(row))}</td><td${cls ? ` class="${cls}"` : ""}>${escapeXml(verdict)}</td></tr>`;
}

/** One percentile chart per transport measured on either side: baseline dashed, current solid. */
function curvesSection(files: ComparedFiles): string {
  const protocols = orderRunKeys(
    new Set([
      ...Object.keys(files.baseline.result.protocols),
      ...Object.keys(files.current.result.protocols),
    ]),
  );
  const charts = protocols.map((protocol) => {
    const label = runLabel(protocol);
    const color = transportColor(protocol);
    const side = (result: RunResult, name: string, dash?: "dashed") => {
      const p = result.protocols[protocol] as ProtocolResult | undefined;
      return p
        ? [{ key: name, label: name, color, hdr: p.latency.hdr, ...(dash ? { dash } : {}) }]
        : [];
    };
    return latencyDistributionChart(
      [
        ...side(files.baseline.result, "baseline", "dashed"),
        ...side(files.current.result, "current"),
      ],
      { id: `latency-${protocol}`, title: `${label}: delivery latency by percentile` },
    );
  });
  return `<section id="curves"><h2>Latency distribution, baseline and current</h2><div class="charts">${charts.join("")}</div></section>`;
}
