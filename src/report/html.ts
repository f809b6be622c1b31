import type { GatedResult } from "../gate/gate.js";
import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { escapeXml, transportColor } from "./charts/svg.js";
import { bannerLines, headerLine, legendLines, noteLines, presentProtocols } from "./format.js";
import { costSection, latencySection, timelineSection } from "./html-charts.js";
import { faultSection } from "./html-faults.js";
import { gateSection } from "./html-gate.js";
import { flagOverrides } from "./html-overrides.js";
import { bannersHtml, htmlPage } from "./html-page.js";
import { rowsFor } from "./rows.js";

/**
 * A self-contained HTML page of a result, for a CI artifact or to share:
 * the comparison table with its banners, the latency distribution, the run
 * second by second, the cost per delivery, and the environment and scenario
 * that document the run. Charts are inline SVG drawn here; the page runs no
 * script and fetches nothing. A composition of small pure sections.
 */
export function renderHtml(result: GatedResult): string {
  const title = headerLine(result);
  const measured = presentProtocols(result).length > 0;
  const sections = measured
    ? [
        headerSection(result),
        summarySection(result),
        gateSection(result),
        faultSection(result),
        latencySection(result),
        timelineSection(result),
        costSection(result),
        environmentSection(result),
      ]
    : [
        headerSection(result),
        summarySection(result),
        gateSection(result),
        environmentSection(result),
      ];
  return htmlPage(`rtbench: ${title}`, sections.filter((s) => s !== "").join("\n"));
}

/** Title, when and how the run went, and the loud lines a reader must not miss. */
export function headerSection(result: RunResult): string {
  const status =
    result.status === "complete" ? "" : ` · <strong>${escapeXml(result.status)}</strong>`;
  const when = `${result.startedAt}${result.finishedAt ? ` to ${result.finishedAt}` : ""}`;
  return [
    `<header><h1>${escapeXml(headerLine(result))}</h1>`,
    `<p class="meta">rtbench ${escapeXml(result.tool.version)} · ${escapeXml(when)}${status}</p></header>`,
    bannersHtml(bannerLines(result)),
    noteLines(result).length > 0
      ? `<div class="notes">${noteLines(result)
          .map((l) => `<p>${escapeXml(l)}</p>`)
          .join("")}</div>`
      : "",
  ].join("\n");
}

/** The same rows as the terminal table, transports as columns. */
export function summarySection(result: RunResult): string {
  const protocols = presentProtocols(result);
  if (protocols.length === 0) {
    return `<section id="summary"><h2>Summary</h2><p>No protocol was measured.</p></section>`;
  }
  const head = protocols
    .map(
      (p) =>
        `<th class="n"><span class="swatch" style="background:${transportColor(p)}"></span>${escapeXml(runLabel(p))}</th>`,
    )
    .join("");
  const body = rowsFor(result)
    .map((row) => {
      const cells = protocols.map(
        (p) => `<td class="n">${escapeXml(row.cell(result.protocols[p] as ProtocolResult))}</td>`,
      );
      return `<tr><td>${escapeXml(row.label)}</td>${cells.join("")}</tr>`;
    })
    .join("\n");
  const legend = legendLines(result)
    .map((line) => `<p class="meta">${escapeXml(line)}</p>`)
    .join("\n");
  return `<section id="summary"><h2>Summary</h2><div class="scroll"><table>
<thead><tr><th>metric</th>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table></div>
${legend}</section>`;
}

/** Versions, machine, what the run was set up to do, and the scenario file itself. */
export function environmentSection(result: RunResult): string {
  const env = result.environment;
  const setup = result.setup;
  const entries: [string, string][] = [
    ["rtbench", result.tool.version],
    ["Node", env.node],
    ["CPU", `${env.cpus} × ${env.cpuModel}`],
    ["OS", env.os],
    ["commit", env.gitCommit ?? "unknown"],
    [
      "scenario",
      `${result.scenario.name}${result.scenario.file ? ` (${result.scenario.file})` : ""}`,
    ],
    ["scenario SHA-256", result.scenario.sha256 ?? "n/a"],
    ["broker", `${setup.broker}${setup.instances > 1 ? ` × ${setup.instances} instances` : ""}`],
    ["clients", `${setup.clients} on ${setup.channels} channels`],
    ["publish", `${setup.ratePerSec} msg/s, ${setup.payloadBytes} B payload`],
    ["duration", `${setup.durationMs / 1000} s, warmup ${setup.warmupMs / 1000} s`],
  ];
  const dl = entries.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`).join("");
  const text = result.scenario.text;
  const overrides = flagOverrides(result)
    .map((line) => `<p class="loud">overridden by a flag: ${escapeXml(line)}</p>`)
    .join("");
  const scenario =
    typeof text === "string"
      ? `<h3>Scenario</h3>${overrides}<pre>${escapeXml(text)}</pre>`
      : `<h3>Scenario</h3><p class="note">The scenario text is not in this result (written by an older rtbench, or not read from a file).</p>`;
  return `<section id="environment"><h2>Environment</h2><dl class="env">${dl}</dl>${scenario}</section>`;
}
