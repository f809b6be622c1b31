import type { GatedResult } from "../gate/gate.js";
import type { ThresholdOutcome } from "../gate/thresholds.js";
import { escapeXml } from "./charts/svg.js";
import { verdictRow } from "./html-compare.js";
import { formatValue } from "./numbers.js";
import { COMPARISON_LEGEND, comparisonSummary, isShownByDefault } from "./verdicts.js";

/**
 * The CI gate's verdict on the page, when the result carries one (`run`
 * with thresholds or `--baseline`, `ab`'s medians): passed or failed, each
 * threshold with its actual value, and the baseline comparison's judged
 * rows, as the terminal showed them. Empty for a result without a gate.
 */
export function gateSection(result: GatedResult): string {
  const gate = result.gate;
  if (gate === undefined) return "";
  const parts = [
    `<p class="${gate.passed ? "pass" : "loud"}"><strong>gate ${gate.passed ? "passed" : "FAILED"}</strong></p>`,
  ];
  if (gate.thresholds !== undefined) parts.push(thresholdTable(gate.thresholds.outcomes));
  const comparison = gate.comparison;
  if (comparison !== undefined) {
    const rows = comparison.rows.filter(isShownByDefault).map(verdictRow);
    parts.push(
      `<h3>Against the baseline <code>${escapeXml(comparison.baseline)}</code></h3>`,
      ...comparison.warnings.map((w) => `<p class="note">warning: ${escapeXml(w)}</p>`),
      `<p><strong>${escapeXml(comparisonSummary(comparison.rows))}</strong></p>`,
      `<div class="scroll"><table><thead><tr><th>metric</th><th class="n">baseline</th><th class="n">current</th><th class="n">change</th><th>evidence</th><th>verdict</th></tr></thead><tbody>${rows.join("\n")}</tbody></table></div>`,
      `<p class="note">${escapeXml(COMPARISON_LEGEND)}</p>`,
    );
  }
  return `<section id="gate"><h2>Gate</h2>${parts.join("\n")}</section>`;
}

function thresholdTable(outcomes: readonly ThresholdOutcome[]): string {
  const failed = outcomes.filter((o) => !o.pass).length;
  const rows = outcomes.map(
    (o) =>
      `<tr><td><code>${escapeXml(o.metric)}</code></td><td>${escapeXml(o.condition)}</td><td class="n">${escapeXml(o.note ?? formatValue(o.actual, o.unit))}</td><td${o.pass ? "" : ' class="loud-cell"'}>${o.pass ? "pass" : "FAIL"}</td></tr>`,
  );
  return `<h3>Thresholds: ${outcomes.length - failed} of ${outcomes.length} passed</h3><div class="scroll"><table><thead><tr><th>threshold</th><th>condition</th><th class="n">actual</th><th>result</th></tr></thead><tbody>${rows.join("\n")}</tbody></table></div>`;
}
