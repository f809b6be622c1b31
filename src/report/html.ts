import { runLabel } from "../metrics/run-keys.js";
import type { ProtocolResult, RunResult } from "../metrics/types.js";
import { bannerLines, headerLine, noteLines, presentProtocols, rowsFor } from "./format.js";

/**
 * A self-contained HTML page of a result (no scripts, no external assets),
 * for attaching to a CI run or sharing: the same rows as the terminal table.
 */
export function renderHtml(result: RunResult): string {
  const protocols = presentProtocols(result);
  const head = ["metric", ...protocols.map((p) => runLabel(p))]
    .map((h, i) => `<th${i > 0 ? ' class="n"' : ""}>${escapeHtml(h)}</th>`)
    .join("");
  const body = rowsFor(result)
    .map((row) => {
      const cells = protocols.map(
        (p) => `<td class="n">${escapeHtml(row.cell(result.protocols[p] as ProtocolResult))}</td>`,
      );
      return `<tr><td>${escapeHtml(row.label)}</td>${cells.join("")}</tr>`;
    })
    .join("\n");
  const banners = bannerLines(result)
    .map((line) => `<p class="loud">${escapeHtml(line)}</p>`)
    .join("\n");
  const notes = noteLines(result)
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join("\n");
  const meta = [
    `rtbench ${result.tool.version}`,
    `Node ${result.environment.node}`,
    `${result.environment.cpus} x ${result.environment.cpuModel}`,
    result.environment.os,
    `started ${result.startedAt}`,
    result.environment.gitCommit ? `commit ${result.environment.gitCommit.slice(0, 12)}` : null,
  ]
    .filter((part) => part !== null)
    .join(" · ");
  const title = escapeHtml(headerLine(result));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rtbench: ${title}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #111; }
table { border-collapse: collapse; }
th, td { padding: 0.25rem 0.75rem; border-bottom: 1px solid #ddd; text-align: left; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.loud { color: #b00; font-weight: bold; }
.meta { color: #666; }
</style>
</head>
<body>
<h1>${title}</h1>
${banners}
${notes}
${protocols.length === 0 ? "<p>No protocol was measured.</p>" : `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`}
<p class="meta">${escapeHtml(meta)}</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
