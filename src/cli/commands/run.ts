import { appendFileSync, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command, Option } from "commander";
import type { CompareOptions } from "../../gate/compare.js";
import { checkBaselineFor, evaluateGate, type GatedResult } from "../../gate/gate.js";
import { judgedHelpText, wrapWords } from "../../gate/judged.js";
import { type MedianResult, medianResult } from "../../gate/repeat.js";
import { readResultFile } from "../../gate/result-file.js";
import type { WorkerHub } from "../../load/workers/coordinator.js";
import type { RunResult } from "../../metrics/types.js";
import { lostWorkerLines } from "../../report/clock-report.js";
import { loadScenario } from "../../scenario/load.js";
import { scenarioServers } from "../../scenario/server-section.js";
import type { Scenario } from "../../scenario/types.js";
import { scenarioWarnings } from "../../scenario/warnings.js";
import { serviceFor } from "../../services/registry.js";
import { badInput, EXIT_CODES, errorText, RtbenchError, runFailed } from "../../shared/errors.js";
import { addCompareOptions, readCompareOptions } from "../compare-options.js";
import { measure, writeResult } from "../measure.js";
import { addRunOptions, type RunOptionFlags, readRunOverrides } from "../run-options.js";
import {
  printFailures,
  printReport,
  reportFailure,
  summaryMarkdown,
  writeHtml,
} from "../run-output.js";
import {
  addWorkerOptions,
  readWorkerFlags,
  type WorkerFlags,
  withWorkers,
} from "../workers-options.js";

interface RunFlags extends RunOptionFlags, WorkerFlags {
  json?: boolean;
  baseline?: string;
  tolerance: string[];
  judge: string[];
  timingFloor?: string;
  repeat: string;
  summary?: string;
  html?: string;
}

/** What the gate needs, read and checked before anything starts. */
interface GateSettings {
  repeat: number;
  baseline?: { file: string; result: RunResult };
  compare: CompareOptions;
}

const MAX_REPEAT = 100;

const GATE_HELP = `
CI gate:
${wrapWords(
  `thresholds in the scenario (e.g. websocket.latency.p99: "< 50ms", "*.lost": "== 0"; names: \`rtbench metrics\`) are checked after the run; a failure exits 1. --baseline compares with an earlier result; a regression exits 1. ${judgedHelpText()} Noise: with --repeat on both sides a Mann-Whitney U test (p <= 0.05) and the 95% interval of the median ratio, otherwise the runs' spread or a percentile's sampling error. The scenario's compare: list or --judge adds metrics; its tolerances: or --tolerance change them. --repeat N gates on N runs (median and per-run values) and shows the spread. --summary "$GITHUB_STEP_SUMMARY" puts the tables on a GitHub Actions job page.`,
  82,
).replace(/^/gm, "  ")}

Exit codes: 0 ok, 1 threshold failed or regression, 2 bad input (scenario, flags,
baseline), 3 the run itself failed or was invalid (no client connected, nothing expected,
no message recognised, a shard died, too many clients never connected: every
threshold fails as "run invalid"), 130 interrupted
(a partial result is written).`;

export function runCommand(): Command {
  const command = new Command("run")
    .description("run scenario files, once per protocol, and print the comparison table")
    .argument("<files...>", "scenario files (YAML or JSON)");
  addWorkerOptions(addRunOptions(command))
    .option("--json", "print the result JSON to stdout instead of the table")
    .option("--baseline <file>", "compare with this result JSON; exit 1 when a metric regressed");
  return addCompareOptions(command, "--baseline")
    .addOption(
      new Option("--repeat <n>", "run N times; gate on the medians and show the spread").default(
        "1",
      ),
    )
    .option(
      "--summary <file>",
      'append a Markdown summary to FILE (in GitHub Actions: --summary "$GITHUB_STEP_SUMMARY")',
    )
    .option(
      "--html <file>",
      "also write the result as an HTML page with charts (self-contained; `rtbench report` makes one later)",
    )
    .addHelpText("after", GATE_HELP)
    .action(async (files: string[], flags: RunFlags) => {
      const overrides = readRunOverrides(flags);
      const gate = readGateSettings(files, flags);
      const scenarios: Scenario[] = [];
      for (const file of files) {
        const scenario = await loadScenario(file, overrides);
        if (!flags.quiet) {
          for (const warning of scenarioWarnings(scenario)) {
            process.stderr.write(`warning: ${file}: ${warning}\n`);
          }
        }
        scenarios.push(scenario);
      }
      if (gate.baseline !== undefined) {
        const [scenario] = scenarios as [Scenario];
        const warnings = checkBaselineFor(scenario, gate.baseline.result, gate.baseline.file);
        if (!flags.quiet) for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      }
      const workers = readWorkerFlags(flags);
      const runAll = async (hub?: WorkerHub) => {
        let failedGate = false;
        let invalid = false;
        for (const [i, scenario] of scenarios.entries()) {
          const prepared = prepare(scenario, flags);
          const outcome = await runGated(prepared.scenario, prepared.notes, flags, gate, hub).catch(
            (error: unknown) => {
              throw naming(files[i] as string, error);
            },
          );
          if (outcome === "interrupted") {
            process.exitCode = 130;
            return;
          }
          if (outcome === "failed") failedGate = true;
          if (outcome === "invalid") invalid = true;
        }
        // Nothing measured is the run failing (3), worse than a threshold failing on numbers (1).
        if (invalid) process.exitCode = EXIT_CODES.RUN_FAILED;
        else if (failedGate) process.exitCode = 1;
      };
      const log = (line: string) => {
        if (!flags.quiet) process.stderr.write(`${line}\n`);
      };
      if (workers === null) await runAll();
      else await withWorkers(workers, log, namespaceBlocker(scenarios), runAll);
    });
}

/**
 * Local workers in network namespaces reach the servers rtbench starts on
 * the host's bridge address; a target's own URLs, and the throwaway TLS
 * certificate (made for loopback names), would not work from there.
 */
function namespaceBlocker(scenarios: Scenario[]): string | null {
  if (scenarios.some((s) => s.target !== null)) return "a scenario measures a target";
  if (scenarios.some((s) => s.server.tls !== null)) return "a scenario's server speaks TLS";
  return null;
}

/** An error while running one of several files says which one. */
function naming(file: string, error: unknown): RtbenchError {
  const message = errorText(error);
  if (message.startsWith(`${file}:`)) return error as RtbenchError;
  const code = error instanceof RtbenchError ? error.code : "RUN_FAILED";
  const details = error instanceof RtbenchError ? error.details : [];
  return new RtbenchError(code, `${file}: ${message}`, { details: [...details], cause: error });
}

/** A baseline that does not exist yet: say how to make one, as the CI docs do. */
function missingBaseline(file: string, scenario: string): RtbenchError {
  const dir = dirname(file);
  return badInput(
    `--baseline: ${file} does not exist; make a baseline first (3 runs, on the machine that will compare):`,
    [
      `rtbench run ${scenario} --repeat 3 --out ${dir}`,
      `mv ${dir}/<scenario name>-*-median.json ${file}`,
      '(and commit it; see the README\'s "Baselines")',
    ],
  );
}

/** Flags of the gate, checked before any scenario runs: a bad baseline must not cost a run. */
function readGateSettings(files: string[], flags: RunFlags): GateSettings {
  const repeat = Number(flags.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
    throw badInput(
      `--repeat: expected a whole number of runs from 1 to ${MAX_REPEAT}, found "${flags.repeat}"`,
    );
  }
  const compare = readCompareOptions(flags);
  for (const [flag, file] of [
    ["--summary", flags.summary],
    ["--html", flags.html],
  ] as const) {
    if (file !== undefined && !existsSync(dirname(resolve(file)))) {
      throw badInput(
        `${flag}: expected a file in an existing directory, found "${file}" (no directory ${dirname(resolve(file))})`,
      );
    }
  }
  if (flags.html !== undefined && files.length > 1) {
    throw badInput(
      `--html: expected one scenario file (one page per run), found ${files.length}; render each result with rtbench report --format html`,
    );
  }
  const settings: GateSettings = { repeat, compare };
  if (flags.baseline !== undefined) {
    if (files.length > 1) {
      throw badInput(
        `--baseline: expected one scenario file (a baseline belongs to one scenario), found ${files.length}`,
      );
    }
    if (!existsSync(flags.baseline)) throw missingBaseline(flags.baseline, files[0] as string);
    settings.baseline = { file: flags.baseline, result: readResultFile(flags.baseline) };
  }
  return settings;
}

/**
 * A scenario whose broker needs a service that is not installed (Redis) still
 * runs: on the in-memory broker with one instance, saying so loudly, rather
 * than not at all. Multi-instance fan-out is then not measured.
 */
function prepare(scenario: Scenario, flags: RunFlags): { scenario: Scenario; notes: string[] } {
  // Variants may name a broker the top-level section does not: any that needs a service counts.
  const kinds = scenarioServers(scenario).map((server) => server.broker);
  const service = scenario.target
    ? null
    : (kinds.map((kind) => serviceFor(kind)).find((found) => found !== null) ?? null);
  if (service === null || process.env[service.urlEnv] || service.available()) {
    return { scenario, notes: [] };
  }
  const notes = [
    `${service.command} is not installed: running on the in-memory broker with 1 instance instead of ${scenario.server.instances} over ${service.title} (install ${service.command} to measure fan-out)`,
  ];
  // Faults on instances or a Redis that this run does not have cannot fire.
  const faults = scenario.faults.filter(
    (f) =>
      f.action !== "redis-restart" &&
      !f.action.startsWith("broker-") &&
      !("instance" in f && typeof f.instance === "number" && f.instance > 0),
  );
  if (faults.length < scenario.faults.length) {
    notes.push(
      `${scenario.faults.length - faults.length} fault(s) skipped: they need Redis or a second instance`,
    );
  }
  if (!flags.quiet) for (const note of notes) process.stderr.write(`notice: ${note}\n`);
  return {
    scenario: {
      ...scenario,
      server: { ...scenario.server, broker: "memory", instances: 1 },
      variants: scenario.variants.map((v) => ({
        ...v,
        server: { ...v.server, broker: "memory", instances: 1 },
      })),
      faults,
    },
    notes,
  };
}

type GateVerdict = "passed" | "failed" | "interrupted" | "invalid";

/** Runs one scenario `--repeat` times, reports, writes the results, and judges the gate. */
async function runGated(
  scenario: Scenario,
  notes: string[],
  flags: RunFlags,
  gate: GateSettings,
  workers?: WorkerHub,
): Promise<GateVerdict> {
  const runs: RunResult[] = [];
  const files: string[] = [];
  for (let i = 1; i <= gate.repeat; i++) {
    if (gate.repeat > 1 && !flags.quiet) {
      process.stderr.write(`${scenario.name}: run ${i} of ${gate.repeat}\n`);
    }
    const result = await measure(scenario, notes, flags, workers);
    if (result.status === "failed") {
      await reportFailure(result, flags);
      throw runFailed(`the run failed: ${result.error ?? "unknown error"}`);
    }
    runs.push(result);
    // Interrupted, or nothing measured: another run would not make a sample of it.
    if (result.status === "partial" || result.status === "invalid") break;
    if (gate.repeat > 1) {
      const file = await writeResult(result, flags.out, `-run${i}`);
      files.push(file);
      if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
    }
  }

  const last = runs[runs.length - 1] as RunResult;
  // A worker lost on the way makes the run partial without an interrupt: it failed (exit 3).
  const lostWorkers = lostWorkerLines(last);
  // An interrupted series is not a sample of N: report the partial run alone.
  const interrupted = last.status === "partial" && lostWorkers.length === 0;
  const invalid = last.status === "invalid";
  let final: GatedResult = last;
  let spread: MedianResult["spread"] | undefined;
  if (!interrupted && !invalid && runs.length > 1) {
    const median = medianResult(runs);
    spread = median.spread;
    final = {
      ...median.result,
      finishedAt: last.finishedAt,
      repeat: { runs: runs.length, files, spread },
    };
    // A median of N runs has no single second-by-second story: each run's file keeps its own.
    for (const protocol of Object.values(final.protocols)) delete protocol.timeline;
  }
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

  const tag =
    last.status === "partial"
      ? "-partial"
      : invalid
        ? "-invalid"
        : spread !== undefined
          ? "-median"
          : "";
  const file = await writeResult(final, flags.out, tag);
  await writeHtml(final, flags);
  printReport(final, { outcomes, comparison, spread }, flags);
  if (flags.summary !== undefined) {
    appendFileSync(
      flags.summary,
      summaryMarkdown(final, { outcomes, comparison, spread }, flags.html),
    );
  }
  if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
  if (!flags.quiet && flags.html !== undefined) {
    process.stderr.write(`HTML report written to ${flags.html}\n`);
  }
  // A partial run exits 130 whatever its numbers say; its tables are for information only.
  if (interrupted) return "interrupted";
  if (lostWorkers.length > 0) {
    process.stderr.write(`error: workers lost\n  ${lostWorkers.join("\n  ")}\n`);
    return "invalid";
  }
  printFailures(outcomes, comparison, gate.baseline?.file);
  if (invalid) {
    // Always printed, also with --quiet: this is why the exit code is 3.
    const lines = Object.entries(final.protocols)
      .filter(([, p]) => p.status === "invalid")
      .map(([name, p]) => `  ${name}: ${(p.invalidReasons ?? []).join("; ")}`);
    process.stderr.write(
      `error: invalid run, its numbers are not a measurement\n${lines.join("\n")}\n`,
    );
    return "invalid";
  }
  return record.passed ? "passed" : "failed";
}
