/**
 * The generated pages of docs/. scenario-reference.md comes from
 * schema/scenario.schema.json (scenario-reference.ts): the schema's
 * descriptions, types, defaults, enums and examples are the one source for
 * editor completion and for the page. metric-names.md comes from the metric
 * table (src/measures/names.ts and the measure rows), as `rtbench metrics`
 * prints it. `npm run docs` (and `npm run schema`) rewrites both;
 * test/schemas.test.ts fails when a committed page is not what its source
 * generates.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listMetrics } from "../measures/names.js";
import { transportNames } from "../shared/transports.js";
import { packageRoot } from "../util/paths.js";
import { readJson, SCENARIO_SCHEMA_PATH } from "./derive.js";
import { tableCell } from "./markdown.js";
import { type Schema, scenarioReference } from "./scenario-reference.js";

export const SCENARIO_REFERENCE_PATH = join(packageRoot, "docs", "scenario-reference.md");
export const METRIC_NAMES_PATH = join(packageRoot, "docs", "metric-names.md");

/** The page listing every metric name, from the metric table. */
export function metricNamesPage(): string {
  const out = [
    "<!-- Generated from src/measures/names.ts and the measure rows by `npm run docs` (src/schemas/docs.ts): edit the metric table or the measure, not this page. -->",
    "",
    "# Metric names",
    "",
    "The names thresholds, `compare:` lists, `--judge` and `rtbench compare` use:",
    `\`PROTOCOL.NAME\`, PROTOCOL one of ${transportNames()
      .map((name) => `\`${name}\``)
      .join(", ")}, a run key`,
    "with its variant (`websocket@sticky`), or `*` for every run: `websocket.latency.p99`,",
    "`*.lost`. `rtbench metrics` prints the same list. What each measures, and",
    "when it is n/a: [Metrics](metrics.md).",
    "",
    "Kinds: **exact**: any increase is a regression; **timing**: compared with a",
    "relative tolerance and a 1 ms floor; **rate**: compared with a relative",
    "tolerance; **count**: descriptive, never a regression.",
    "",
    "| name | unit | kind | better | what it is |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const m of listMetrics()) {
    out.push(
      `| \`${m.path}\` | ${m.unit} | ${m.kind} | ${m.better ?? "-"} | ${tableCell(m.description)} |`,
    );
  }
  out.push("");
  return out.join("\n");
}

/** Rewrites the generated pages of docs/ (`npm run docs`). */
export function writeDocs(): void {
  const schema = readJson(SCENARIO_SCHEMA_PATH) as unknown as Schema;
  writeFileSync(SCENARIO_REFERENCE_PATH, scenarioReference(schema));
  writeFileSync(METRIC_NAMES_PATH, metricNamesPage());
}
