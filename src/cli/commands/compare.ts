import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Command } from "commander";
import { type ComparisonRow, compareResults, parseTolerance } from "../../gate/compare.js";
import type { RunResult } from "../../metrics/types.js";
import { formatChange, formatValue } from "../../report/format.js";
import { renderComparisonMarkdown } from "../../report/markdown.js";
import { renderComparisonTable } from "../../report/table.js";
import { badInput, RtbenchError } from "../../shared/errors.js";
import { packageRoot } from "../../util/paths.js";

export const RESULT_SCHEMA_PATH = join(packageRoot, "schema", "result.schema.json");

let validator: ValidateFunction | undefined;

function resultValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = JSON.parse(readFileSync(RESULT_SCHEMA_PATH, "utf8")) as object;
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

function describeError(error: ErrorObject): string {
  const path =
    error.instancePath === "" ? "(top level)" : error.instancePath.slice(1).replaceAll("/", ".");
  if (error.keyword === "required") {
    return `${path}: missing ${(error.params as { missingProperty: string }).missingProperty}`;
  }
  if (error.keyword === "const" || error.keyword === "enum") {
    const allowed = error.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    const values = allowed.allowedValues ?? [allowed.allowedValue];
    return `${path}: expected ${values.map((v) => JSON.stringify(v)).join(" or ")}`;
  }
  return `${path}: ${error.message ?? "invalid"}`;
}

/** Reads and validates a result file; every problem becomes BAD_INPUT (exit 2). */
export function readResultFile(file: string): RunResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw badInput(`${file}: cannot read the result file (${reason})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw badInput(
      `${file}: expected an rtbench result (JSON), found text that is not JSON (${(error as Error).message})`,
    );
  }
  const validate = resultValidator();
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(describeError);
    // A different schemaVersion is its own message: the fix is a different rtbench, not the file.
    const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
    if (typeof version === "number" && version !== 1) {
      throw badInput(
        `${file}: result schemaVersion ${version} is not supported (this rtbench reads 1)`,
      );
    }
    throw badInput(
      `${file} is not an rtbench result (${problems.length} problem${problems.length === 1 ? "" : "s"})`,
      problems,
    );
  }
  return data as RunResult;
}

const MAX_DETAIL_LINES = 12;

function regressionError(
  regressions: readonly ComparisonRow[],
  baselineFile: string,
): RtbenchError {
  const details = regressions.slice(0, MAX_DETAIL_LINES).map((r) => {
    const change = formatChange(r);
    return `${r.metric}: ${formatValue(r.baseline, r.unit)} -> ${formatValue(r.current, r.unit)}${change === "" ? "" : ` (${change})`}`;
  });
  if (regressions.length > MAX_DETAIL_LINES) {
    details.push(`... and ${regressions.length - MAX_DETAIL_LINES} more (see the table above)`);
  }
  const n = regressions.length;
  return new RtbenchError(
    "THRESHOLD_FAILED",
    `${n} metric${n === 1 ? "" : "s"} regressed against ${baselineFile}`,
    {
      details,
    },
  );
}

interface CompareFlags {
  tolerance: string[];
  summary?: string;
  json?: boolean;
  all?: boolean;
  timingFloor?: string;
}

export function compareCommand(): Command {
  return new Command("compare")
    .description("compare a result against a baseline; exit 1 when a metric regressed")
    .argument("<baseline>", "baseline result JSON (e.g. a committed results/baseline.json)")
    .argument("<current>", "current result JSON")
    .option(
      "--tolerance <key=pct>",
      "relative tolerance by kind (timing, rate), metric (latency.p99) or full name (websocket.latency.p99); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--timing-floor <ms>", "timing changes below this many ms never regress (default 1)")
    .option("--summary <file>", "append the comparison as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    .option("--json", "print the comparison as JSON on stdout")
    .option("--all", "show every compared metric, not only headline metrics and changes")
    .addHelpText(
      "after",
      "\nExact metrics (lost, duplicates, reordered, publishFailed) regress on any increase.\nTimings regress when worse by more than 10% and 1 ms, rates when worse by more than 10%.",
    )
    .action((baselineFile: string, currentFile: string, flags: CompareFlags) => {
      const tolerances = Object.fromEntries(flags.tolerance.map(parseTolerance));
      let timingFloorMs: number | undefined;
      if (flags.timingFloor !== undefined) {
        timingFloorMs = Number(flags.timingFloor);
        if (!Number.isFinite(timingFloorMs) || timingFloorMs < 0) {
          throw badInput(
            `--timing-floor: expected a number of milliseconds >= 0, found "${flags.timingFloor}"`,
          );
        }
      }
      const baseline = readResultFile(baselineFile);
      const current = readResultFile(currentFile);
      const comparison = compareResults(baseline, current, { tolerances, timingFloorMs });

      if (flags.json) {
        process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
      } else {
        const color = process.stdout.isTTY === true;
        process.stdout.write(`${renderComparisonTable(comparison, { color, all: flags.all })}\n`);
      }
      if (flags.summary !== undefined) {
        appendFileSync(flags.summary, renderComparisonMarkdown(comparison, { all: flags.all }));
      }
      if (comparison.regressions.length > 0) {
        throw regressionError(comparison.regressions, baselineFile);
      }
    });
}
