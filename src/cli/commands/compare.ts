import { appendFileSync } from "node:fs";
import { Command, Option } from "commander";
import { type ComparisonRow, compareResults } from "../../gate/compare.js";
import { judgedHelpText, wrapWords } from "../../gate/judged.js";
import { readResultFile } from "../../gate/result-file.js";
import { renderComparisonHtml } from "../../report/html-compare.js";
import { renderComparisonMarkdown } from "../../report/markdown.js";
import { renderComparisonTable } from "../../report/table.js";
import { regressionLines } from "../../report/verdicts.js";
import { RtbenchError } from "../../shared/errors.js";
import { addCompareOptions, readCompareOptions } from "../compare-options.js";

function regressionError(
  regressions: readonly ComparisonRow[],
  baselineFile: string,
): RtbenchError {
  const n = regressions.length;
  return new RtbenchError(
    "THRESHOLD_FAILED",
    `${n} metric${n === 1 ? "" : "s"} regressed against ${baselineFile}`,
    { details: regressionLines(regressions) },
  );
}

const FORMATS = ["table", "markdown", "html", "json"] as const;

interface CompareFlags {
  tolerance: string[];
  judge: string[];
  summary?: string;
  json?: boolean;
  format: (typeof FORMATS)[number];
  all?: boolean;
  timingFloor?: string;
}

export function compareCommand(): Command {
  const command = new Command("compare")
    .description("compare a result against a baseline; exit 1 when a metric regressed")
    .argument("<baseline>", "baseline result JSON (e.g. a committed results/baseline.json)")
    .argument("<current>", "current result JSON");
  return addCompareOptions(command)
    .option("--summary <file>", "append the comparison as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    .option("--json", "print the comparison as JSON on stdout (same as --format json)")
    .addOption(
      new Option(
        "--format <format>",
        "output format (html: a page with both runs' latency curves per transport)",
      )
        .choices(FORMATS)
        .default("table"),
    )
    .option("--all", "show every compared metric, not only the judged ones and a few others")
    .addHelpText(
      "after",
      `\n${wrapWords(
        `${judgedHelpText()} Noise: results of --repeat by Mann-Whitney U and the median ratio's 95% interval; single runs by their spread or sampling error. Scenario tolerances and compare: lists do not apply here (use --tolerance and --judge).`,
      )}`,
    )
    .action((baselineFile: string, currentFile: string, flags: CompareFlags) => {
      const options = readCompareOptions(flags);
      const baseline = readResultFile(baselineFile);
      const current = readResultFile(currentFile);
      const comparison = compareResults(baseline, current, options);

      const format = flags.json ? "json" : flags.format;
      const render = {
        table: () =>
          renderComparisonTable(comparison, {
            color: process.stdout.isTTY === true,
            all: flags.all,
          }),
        markdown: () => renderComparisonMarkdown(comparison, { all: flags.all }),
        html: () =>
          renderComparisonHtml(
            {
              baseline: { file: baselineFile, result: baseline },
              current: { file: currentFile, result: current },
            },
            comparison,
            { all: flags.all },
          ),
        json: () => JSON.stringify(comparison, null, 2),
      }[format];
      process.stdout.write(`${render().replace(/\n$/, "")}\n`);
      if (flags.summary !== undefined) {
        appendFileSync(flags.summary, renderComparisonMarkdown(comparison, { all: flags.all }));
      }
      if (comparison.regressions.length > 0) {
        throw regressionError(comparison.regressions, baselineFile);
      }
    });
}
