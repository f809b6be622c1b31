import { escapeXml } from "./charts/svg.js";

/**
 * The page around the HTML reports: one self-contained file, styles
 * inline, no script and nothing fetched, readable on a laptop and printable
 * (charts scale with the page, and a chart is never split across sheets).
 */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const STYLE = `
:root { --ink: #1a1a1a; --muted: #5f6368; --rule: #dadce0; --band: #eef1f5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1240px; }
h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
p { margin: 0.35rem 0; }
.meta, .note, figcaption + .note { color: var(--muted); }
.loud { color: #b00020; font-weight: 700; border-left: 4px solid #b00020; padding: 0.35rem 0.75rem; background: #fdecee; }
.notes p { color: var(--muted); }
td.loud-cell { color: #b00020; font-weight: 700; }
.pass { color: #0b6e2a; border-left: 4px solid #0b6e2a; padding: 0.35rem 0.75rem; background: #e9f6ee; }
td.warn-cell { color: #8a5300; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2rem 0.75rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f8f9fa; }
td.n, th.n { text-align: right; }
th .swatch { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 2px; margin-right: 0.35rem; vertical-align: baseline; }
.scroll { overflow-x: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1.5rem 2rem; }
.charts.bars { grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
figure.chart { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption { font-weight: 600; margin-bottom: 0.2rem; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart .note { font-size: 0.85rem; margin-top: 0.15rem; }
ul.legend { list-style: none; margin: 0.2rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; font-size: 0.85rem; }
ul.legend li { display: flex; align-items: center; gap: 0.35rem; white-space: nowrap; }
svg text { font-family: inherit; fill: var(--ink); }
svg .tick { font-size: 12px; fill: var(--muted); }
svg .axis-label { font-size: 13px; fill: var(--ink); }
svg .value { font-size: 12px; }
svg .empty { font-size: 13px; fill: var(--muted); }
svg .grid { stroke: #eceff1; stroke-width: 1; }
svg .axis { stroke: #9aa0a6; stroke-width: 1; }
svg .band { fill: var(--band); }
svg .band-label { font-size: 10px; fill: var(--muted); }
svg .marker line { stroke: #222; stroke-width: 1.25; stroke-dasharray: 2 3; }
svg .marker text { font-size: 12px; font-weight: 600; }
svg .guide line { stroke: #D55E00; stroke-width: 1.25; stroke-dasharray: 6 3; }
svg .guide text { font-size: 11px; fill: #D55E00; }
pre { background: #f8f9fa; border: 1px solid var(--rule); padding: 0.75rem 1rem; overflow-x: auto; font-size: 12.5px; line-height: 1.4; }
dl.env { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1.25rem; margin: 0; }
dl.env dt { color: var(--muted); }
dl.env dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
@media print {
  body { padding: 0; max-width: none; font-size: 10.5px; }
  /* One chart a row on paper: two would print their labels at 6 points. */
  .charts { grid-template-columns: 1fr; }
  .charts.bars { grid-template-columns: 1fr 1fr; }
  figure.chart { max-width: 17cm; }
  h2 { break-after: avoid; }
  th, td { padding: 0.15rem 0.4rem; }
}
`;

/** Lines the reader must not miss (an unreliable or partial run), one loud paragraph each. */
export function bannersHtml(lines: readonly string[]): string {
  return lines.map((line) => `<p class="loud">${escapeXml(line)}</p>`).join("\n");
}
