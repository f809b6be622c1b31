import { appendFileSync } from "node:fs";
import { Command } from "commander";
import { type Comparison, compareResults } from "../../gate/compare.js";
import { evaluateGate, type GatedResult } from "../../gate/gate.js";
import { medianResult } from "../../gate/repeat.js";
import { DEFAULT_ALPHA, MIN_RUNS_FOR_TEST } from "../../gate/stats.js";
import type { RunResult } from "../../metrics/types.js";
import { renderJson } from "../../report/json.js";
import { renderComparisonMarkdown } from "../../report/markdown.js";
import { renderComparisonTable, renderThresholdTable } from "../../report/table.js";
import { regressionLines, thresholdFailureLines } from "../../report/verdicts.js";
import { loadScenario, type ScenarioOverrides } from "../../scenario/load.js";
import { readTargetPlace } from "../../scenario/target-place.js";
import type { ThresholdMap } from "../../scenario/thresholds.js";
import type { Scenario } from "../../scenario/types.js";
import { scenarioWarnings } from "../../scenario/warnings.js";
import { badInput, EXIT_CODES, RtbenchError, runFailed } from "../../shared/errors.js";
import { addCompareOptions, readCompareOptions } from "../compare-options.js";
import { measure, writeResult } from "../measure.js";
import { addRunOptions, type RunOptionFlags, readRunOverrides } from "../run-options.js";

/**
 * `rtbench ab`: one scenario against two servers on one machine, run
 * interleaved (A B, B A, A B, ...), and the difference judged by the
 * gate's test for repeated runs. Whatever the machine does meanwhile (a
 * noisy neighbour, a thermal dip) falls on both sides alike, which is what
 * makes an A/B in one CI job steadier than a baseline file from another day.
 */

interface AbFlags extends RunOptionFlags {
  baselineTarget: string;
  candidateTarget: string;
  rounds: string;
  tolerance: string[];
  judge: string[];
  timingFloor?: string;
  summary?: string;
  json?: boolean;
}

/** Three runs a side is the least the rank test can call significant (p = 0.05). */
const DEFAULT_ROUNDS = MIN_RUNS_FOR_TEST;
const MAX_ROUNDS = 50;

type Side = "baseline" | "candidate";

export function abCommand(): Command {
  const command = new Command("ab")
    .description(
      "run a scenario against two servers, interleaved, and judge the candidate against the baseline; exit 1 when it regressed",
    )
    .argument("<scenario>", "scenario file (or a bundled scenario's name)")
    .requiredOption(
      "--baseline-target <url|command>",
      "the server to compare against: a running one's URL, or a command that starts one ({port} ...)",
    )
    .requiredOption("--candidate-target <url|command>", "the server under test, the same way")
    .option(
      "--rounds <n>",
      `runs per side, interleaved (at least ${MIN_RUNS_FOR_TEST}: the rank test needs them)`,
      String(DEFAULT_ROUNDS),
    );
  addRunOptions(command);
  return addCompareOptions(command, "the baseline")
    .option("--summary <file>", "append the comparison as Markdown (e.g. $GITHUB_STEP_SUMMARY)")
    .option("--json", "print the comparison as JSON on stdout")
    .addHelpText(
      "after",
      "\nA URL (http://...) is a running server; anything else is a shell command that\nstarts one, as target.command in a scenario ({port}, {instance}, {dir}, ...). The\nscenario's target keeps how the server speaks (protocol, templates, health);\nits server section, which describes the bundled server, is not used.\nThe candidate regresses as `rtbench compare` judges results of --repeat. The\nscenario's thresholds are checked on each side's median: the candidate failing\none exits 1; the baseline failing one is reported (the candidate is not blamed).",
    )
    .action(async (file: string, flags: AbFlags) => {
      const rounds = readRounds(flags.rounds);
      const compare = readCompareOptions(flags);
      const overrides = readRunOverrides(flags);
      // Both sides are checked before either runs: a typo must not cost a round.
      const scenarios: Record<Side, Scenario> = {
        baseline: await sideScenario(file, "--baseline-target", flags.baselineTarget, overrides),
        candidate: await sideScenario(file, "--candidate-target", flags.candidateTarget, overrides),
      };
      if (!flags.quiet) {
        for (const warning of scenarioWarnings(scenarios.candidate)) {
          process.stderr.write(`warning: ${file}: ${warning}\n`);
        }
      }
      const runs = await runInterleaved(scenarios, rounds, flags);
      if (runs === null) {
        process.exitCode = 130;
        return;
      }
      const thresholds = scenarios.candidate.thresholds;
      const baseline = await medianOf(runs.baseline, "baseline", thresholds, flags);
      const candidate = await medianOf(runs.candidate, "candidate", thresholds, flags);
      if (baseline.status === "invalid" || candidate.status === "invalid") {
        throw new RtbenchError(
          "RUN_FAILED",
          "nothing was measured on one side (see the result files): there is nothing to compare",
        );
      }
      const comparison = compareResults(baseline, candidate, {
        ...compare,
        tolerances: { ...scenarios.candidate.tolerances, ...compare.tolerances },
        judge: [...scenarios.candidate.compare, ...(compare.judge ?? [])],
        // The two sides run the same scenario against two servers: only the target may differ.
        serversDiffer: true,
      });
      report(comparison, { baseline, candidate }, flags);
      const failedThresholds = reportThresholds({ baseline, candidate });
      if (failedThresholds) process.exitCode = EXIT_CODES.THRESHOLD_FAILED;
      if (comparison.regressions.length > 0) {
        process.stderr.write(
          `error: ${comparison.regressions.length} metric(s) regressed on the candidate\n${regressionLines(
            comparison.regressions,
          )
            .map((line) => `  ${line}`)
            .join("\n")}\n`,
        );
        process.exitCode = EXIT_CODES.THRESHOLD_FAILED;
      }
    });
}

/**
 * Fewer than MIN_RUNS_FOR_TEST rounds would leave the verdict to the runs'
 * ranges, not the rank test that `ab` promises: refused, with the reason.
 */
export function readRounds(text: string): number {
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
    throw badInput(
      `--rounds: expected a whole number of runs per side from ${MIN_RUNS_FOR_TEST} to ${MAX_ROUNDS}, found "${text}"`,
    );
  }
  if (rounds < MIN_RUNS_FOR_TEST) {
    throw badInput(
      `--rounds: expected at least ${MIN_RUNS_FOR_TEST} runs per side, found ${rounds}: the Mann-Whitney test that judges ab cannot call a difference significant (p <= ${DEFAULT_ALPHA}) with fewer (its smallest p-value with ${rounds} against ${rounds} is ${smallestP(rounds).toFixed(2)})`,
    );
  }
  return rounds;
}

/** The rank test's smallest one-sided p-value with n runs a side: 1 / C(2n, n). */
function smallestP(n: number): number {
  let ways = 1;
  for (let i = 1; i <= n; i++) ways = (ways * (n + i)) / i;
  return 1 / ways;
}

async function sideScenario(
  file: string,
  flag: string,
  text: string,
  overrides: ScenarioOverrides,
): Promise<Scenario> {
  if (text.trim() === "") throw badInput(`${flag}: expected a URL or a command, found ""`);
  try {
    return await loadScenario(file, { ...overrides, target: readTargetPlace(text) });
  } catch (error) {
    if (!(error instanceof RtbenchError)) throw error;
    throw new RtbenchError(error.code, `${flag}: ${error.message}`, {
      details: [...error.details],
      cause: error,
    });
  }
}

/**
 * Rounds of one run per side, the side that goes first alternating (A B,
 * B A, ...) so neither always runs on a warmer machine. Null when
 * interrupted; the runs measured so far are written.
 */
async function runInterleaved(
  scenarios: Record<Side, Scenario>,
  rounds: number,
  flags: AbFlags,
): Promise<Record<Side, RunResult[]> | null> {
  const runs: Record<Side, RunResult[]> = { baseline: [], candidate: [] };
  for (let round = 1; round <= rounds; round++) {
    const order: Side[] = round % 2 === 1 ? ["baseline", "candidate"] : ["candidate", "baseline"];
    for (const side of order) {
      if (!flags.quiet) process.stderr.write(`ab: round ${round} of ${rounds}, ${side}\n`);
      const result = await measure(scenarios[side], [`ab ${side}, round ${round}`], flags);
      const file = await writeResult(result, flags.out, `-${side}-run${round}`);
      if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
      if (result.status === "failed") {
        throw runFailed(`${side}, round ${round}: the run failed: ${result.error ?? "unknown"}`);
      }
      if (result.status === "partial") return null;
      runs[side].push(result);
    }
  }
  return runs;
}

/**
 * One side's runs as `run --repeat` gives them: medians, with every run's
 * values kept, and the scenario's thresholds judged on them (kept in the
 * file under `gate`, as `run` keeps them).
 */
async function medianOf(
  runs: RunResult[],
  side: Side,
  thresholds: ThresholdMap,
  flags: AbFlags,
): Promise<GatedResult> {
  const invalid = runs.find((r) => r.status === "invalid");
  if (invalid !== undefined) return invalid;
  const { result, spread } = medianResult(runs);
  const median: GatedResult = { ...result, repeat: { runs: runs.length, files: [], spread } };
  // A median of N runs has no single second-by-second story: each run's file keeps its own.
  for (const protocol of Object.values(median.protocols)) delete protocol.timeline;
  const { record, outcomes } = evaluateGate(median, { thresholds });
  if (outcomes !== null) median.gate = record;
  const file = await writeResult(median, flags.out, `-${side}-median`);
  if (!flags.quiet)
    process.stderr.write(`${side}: median of ${runs.length} runs written to ${file}\n`);
  return median;
}

function report(comparison: Comparison, sides: Record<Side, GatedResult>, flags: AbFlags): void {
  if (flags.json) {
    process.stdout.write(`${renderJson(comparison)}\n`);
  } else {
    const color = process.stdout.isTTY === true;
    const parts = [renderComparisonTable(comparison, { color })];
    for (const side of ["baseline", "candidate"] as const) {
      const outcomes = sides[side].gate?.thresholds?.outcomes;
      if (outcomes !== undefined) {
        parts.push(`${side}: thresholds\n${renderThresholdTable(outcomes, { color })}`);
      }
    }
    process.stdout.write(`${parts.join("\n\n")}\n`);
  }
  if (flags.summary !== undefined) {
    appendFileSync(flags.summary, `${renderComparisonMarkdown(comparison)}\n`);
  }
}

/**
 * Always printed, also with --quiet. True when the candidate failed a
 * threshold (exit 1); a baseline that fails one too is said, as that is
 * not the candidate's doing.
 */
function reportThresholds(sides: Record<Side, GatedResult>): boolean {
  const failedOn = (side: Side) =>
    (sides[side].gate?.thresholds?.outcomes ?? []).filter((o) => !o.pass);
  const lines: string[] = [];
  for (const side of ["candidate", "baseline"] as const) {
    const failed = failedOn(side);
    if (failed.length === 0) continue;
    const level = side === "candidate" ? "error" : "note";
    lines.push(
      `${level}: the ${side} fails ${failed.length} of the scenario's threshold${failed.length === 1 ? "" : "s"}`,
    );
    lines.push(...thresholdFailureLines(failed).map((line) => `  ${line}`));
  }
  if (lines.length > 0) process.stderr.write(`${lines.join("\n")}\n`);
  return failedOn("candidate").length > 0;
}
