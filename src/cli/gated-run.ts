/**
 * One scenario of `rtbench run` through the gate: run it `--repeat` times,
 * make the series one result (its medians), judge thresholds and baseline,
 * write and print the result, and say which exit the verdict asks for.
 */
import { appendFileSync } from "node:fs";
import { evaluateGate, type GatedResult } from "../gate/gate.js";
import { medianResult } from "../gate/repeat.js";
import type { WorkerHub } from "../load/workers/coordinator.js";
import type { RunResult } from "../metrics/types.js";
import { lostWorkerLines } from "../report/clock-report.js";
import type { Scenario } from "../scenario/types.js";
import { runFailed } from "../shared/errors.js";
import type { GateSettings } from "./gate-settings.js";
import { measure, writeResult } from "./measure.js";
import {
  type GateReport,
  type OutputFlags,
  printFailures,
  printReport,
  reportFailure,
  summaryMarkdown,
  writeHtml,
} from "./run-output.js";

export type GateVerdict = "passed" | "failed" | "interrupted" | "invalid";

/** The flags a gated run reads: where its output goes, and the job summary file. */
export interface GatedRunFlags extends OutputFlags {
  summary?: string;
}

/** How a series ended, read from its last run. */
interface SeriesEnd {
  last: RunResult;
  /** Workers lost on the way: the run is partial without an interrupt, and failed (exit 3). */
  lostWorkers: string[];
  /** Interrupted: not a sample of N; the partial run is reported alone. */
  interrupted: boolean;
  invalid: boolean;
}

/** Runs one scenario `--repeat` times, reports, writes the results, and judges the gate. */
export async function runGated(
  scenario: Scenario,
  notes: string[],
  flags: GatedRunFlags,
  gate: GateSettings,
  workers?: WorkerHub,
): Promise<GateVerdict> {
  const { runs, files } = await runSeries(scenario, notes, flags, gate.repeat, workers);
  const last = runs[runs.length - 1] as RunResult;
  const lostWorkers = lostWorkerLines(last);
  const end: SeriesEnd = {
    last,
    lostWorkers,
    interrupted: last.status === "partial" && lostWorkers.length === 0,
    invalid: last.status === "invalid",
  };
  const { final, spread } =
    !end.interrupted && !end.invalid && runs.length > 1
      ? medianOfSeries(runs, files)
      : { final: last as GatedResult, spread: undefined };
  const { record, outcomes, comparison } = evaluateGate(final, {
    thresholds: scenario.thresholds,
    baseline: gate.baseline,
    // Flags win over the scenario's own tolerances.
    compare: {
      ...gate.compare,
      tolerances: { ...scenario.tolerances, ...gate.compare.tolerances },
      judge: [...scenario.compare, ...(gate.compare.judge ?? [])],
    },
  });
  if (outcomes !== null || comparison !== null) final.gate = record;
  await writeOutputs(final, end, { outcomes, comparison, spread }, flags);
  return verdictOf(final, end, { outcomes, comparison, spread }, gate, record.passed);
}

/** The runs of the series, each written to its own file when there are several. */
async function runSeries(
  scenario: Scenario,
  notes: string[],
  flags: GatedRunFlags,
  repeat: number,
  workers?: WorkerHub,
): Promise<{ runs: RunResult[]; files: string[] }> {
  const runs: RunResult[] = [];
  const files: string[] = [];
  for (let i = 1; i <= repeat; i++) {
    if (repeat > 1 && !flags.quiet) {
      process.stderr.write(`${scenario.name}: run ${i} of ${repeat}\n`);
    }
    const result = await measure(scenario, notes, flags, workers);
    if (result.status === "failed") {
      await reportFailure(result, flags);
      throw runFailed(`the run failed: ${result.error ?? "unknown error"}`);
    }
    runs.push(result);
    // Interrupted, or nothing measured: another run would not make a sample of it.
    if (result.status === "partial" || result.status === "invalid") break;
    if (repeat > 1) {
      const file = await writeResult(result, flags.out, `-run${i}`);
      files.push(file);
      if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
    }
  }
  return { runs, files };
}

/** A complete series of several runs as one result: the medians, the spread, the run files. */
function medianOfSeries(
  runs: RunResult[],
  files: string[],
): { final: GatedResult; spread: GateReport["spread"] } {
  const last = runs[runs.length - 1] as RunResult;
  const median = medianResult(runs);
  const spread = median.spread;
  const final: GatedResult = {
    ...median.result,
    finishedAt: last.finishedAt,
    repeat: { runs: runs.length, files, spread },
  };
  // A median of N runs has no single second-by-second story: each run's file keeps its own.
  for (const protocol of Object.values(final.protocols)) delete protocol.timeline;
  return { final, spread };
}

/** The result file (tagged by how the series ended), the HTML page, the tables, the summary. */
async function writeOutputs(
  final: GatedResult,
  end: SeriesEnd,
  report: GateReport,
  flags: GatedRunFlags,
): Promise<void> {
  const tag =
    end.last.status === "partial"
      ? "-partial"
      : end.invalid
        ? "-invalid"
        : report.spread !== undefined
          ? "-median"
          : "";
  const file = await writeResult(final, flags.out, tag);
  await writeHtml(final, flags);
  printReport(final, report, flags);
  if (flags.summary !== undefined) {
    appendFileSync(flags.summary, summaryMarkdown(final, report, flags.html));
  }
  if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
  if (!flags.quiet && flags.html !== undefined) {
    process.stderr.write(`HTML report written to ${flags.html}\n`);
  }
}

/** The verdict, with the lines that say why it is not a pass. */
function verdictOf(
  final: GatedResult,
  end: SeriesEnd,
  report: GateReport,
  gate: GateSettings,
  passed: boolean,
): GateVerdict {
  // A partial run exits 130 whatever its numbers say; its tables are for information only.
  if (end.interrupted) return "interrupted";
  if (end.lostWorkers.length > 0) {
    process.stderr.write(`error: workers lost\n  ${end.lostWorkers.join("\n  ")}\n`);
    return "invalid";
  }
  printFailures(report.outcomes, report.comparison, gate.baseline?.file);
  if (end.invalid) {
    // Always printed, also with --quiet: this is why the exit code is 3.
    const lines = Object.entries(final.protocols)
      .filter(([, p]) => p.status === "invalid")
      .map(([name, p]) => `  ${name}: ${(p.invalidReasons ?? []).join("; ")}`);
    process.stderr.write(
      `error: invalid run, its numbers are not a measurement\n${lines.join("\n")}\n`,
    );
    return "invalid";
  }
  return passed ? "passed" : "failed";
}
