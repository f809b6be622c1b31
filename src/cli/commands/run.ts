import { appendFileSync, existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";
import {
  type CompareOptions,
  type Comparison,
  type MedianResult,
  medianResult,
} from "../../gate/compare.js";
import {
  checkBaselineFor,
  evaluateGate,
  type GatedResult,
  parseTolerances,
  regressionLines,
  thresholdFailureLines,
} from "../../gate/gate.js";
import { readResultFile } from "../../gate/result-file.js";
import type { ThresholdOutcome } from "../../gate/thresholds.js";
import { type RunProgress, runScenario } from "../../load/run.js";
import type { RunResult } from "../../metrics/types.js";
import {
  renderComparisonMarkdown,
  renderMarkdown,
  renderThresholdMarkdown,
} from "../../report/markdown.js";
import { renderSpreadMarkdown, renderSpreadTable } from "../../report/spread.js";
import { renderComparisonTable, renderTable, renderThresholdTable } from "../../report/table.js";
import { loadScenario } from "../../scenario/load.js";
import { scenarioServers } from "../../scenario/server-section.js";
import type { Scenario } from "../../scenario/types.js";
import { parseDuration } from "../../scenario/units.js";
import { serviceFor } from "../../services/registry.js";
import { badInput, runFailed } from "../../shared/errors.js";
import { isTransportName, type ProtocolName, transportNames } from "../../shared/transports.js";
import { stopAllChildren } from "../../util/children.js";

interface RunFlags {
  protocols?: string;
  duration?: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
  baseline?: string;
  tolerance: string[];
  timingFloor?: string;
  repeat: string;
  summary?: string;
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
  thresholds in the scenario (e.g. websocket.latency.p99: "< 50ms", "*.lost": "== 0";
  names: \`rtbench metrics\`) are checked after the run; a failure exits 1.
  --baseline compares with an earlier result; a regression exits 1. Exact counts
  (lost, duplicates, reordered, publishFailed) regress on any increase; timings
  when worse by more than 10% and 1 ms; rates when worse by more than 10%.
  --repeat N gates on the median of N runs and shows the spread.
  --summary "$GITHUB_STEP_SUMMARY" puts the tables on a GitHub Actions job page.

Exit codes: 0 ok, 1 threshold failed or regression, 2 bad input (scenario, flags,
baseline), 3 the run itself failed, 130 interrupted (a partial result is written).`;

export function runCommand(): Command {
  return new Command("run")
    .description("run scenario files, once per protocol, and print the comparison table")
    .argument("<files...>", "scenario files (YAML or JSON)")
    .option("--protocols <list>", `comma-separated subset of ${transportNames().join(",")}`)
    .option("--duration <duration>", "override the scenario's duration, warmup included (e.g. 20s)")
    .addOption(new Option("--out <dir>", "where result JSON files are written").default("results"))
    .option("--json", "print the result JSON to stdout instead of the table")
    .option("--quiet", "no progress line and no notices on stderr")
    .option("--baseline <file>", "compare with this result JSON; exit 1 when a metric regressed")
    .option(
      "--tolerance <key=pct>",
      "relative tolerance for --baseline by kind (timing, rate), metric (latency.p99) or full name (websocket.latency.p99); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--timing-floor <ms>", "timing changes below this many ms never regress (default 1)")
    .addOption(
      new Option("--repeat <n>", "run N times; gate on the medians and show the spread").default(
        "1",
      ),
    )
    .option(
      "--summary <file>",
      'append a Markdown summary to FILE (in GitHub Actions: --summary "$GITHUB_STEP_SUMMARY")',
    )
    .addHelpText("after", GATE_HELP)
    .action(async (files: string[], flags: RunFlags) => {
      const overrides = parseOverrides(flags);
      const gate = readGateSettings(files, flags);
      const scenarios: Scenario[] = [];
      for (const file of files) scenarios.push(await loadScenario(file, overrides));
      if (gate.baseline !== undefined) {
        const [scenario] = scenarios as [Scenario];
        const warnings = checkBaselineFor(scenario, gate.baseline.result, gate.baseline.file);
        if (!flags.quiet) for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      }
      let failedGate = false;
      for (const scenario of scenarios) {
        const prepared = prepare(scenario, flags);
        const outcome = await runGated(prepared.scenario, prepared.notes, flags, gate);
        if (outcome === "interrupted") {
          process.exitCode = 130;
          return;
        }
        if (outcome === "failed") failedGate = true;
      }
      if (failedGate) process.exitCode = 1;
    });
}

/** Flags of the gate, checked before any scenario runs: a bad baseline must not cost a run. */
function readGateSettings(files: string[], flags: RunFlags): GateSettings {
  const repeat = Number(flags.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
    throw badInput(
      `--repeat: expected a whole number of runs from 1 to ${MAX_REPEAT}, found "${flags.repeat}"`,
    );
  }
  const compare: CompareOptions = { tolerances: parseTolerances(flags.tolerance) };
  if (flags.timingFloor !== undefined) {
    const timingFloorMs = Number(flags.timingFloor);
    if (!Number.isFinite(timingFloorMs) || timingFloorMs < 0) {
      throw badInput(
        `--timing-floor: expected a number of milliseconds >= 0, found "${flags.timingFloor}"`,
      );
    }
    compare.timingFloorMs = timingFloorMs;
  }
  if (flags.summary !== undefined && !existsSync(dirname(resolve(flags.summary)))) {
    throw badInput(
      `--summary: expected a file in an existing directory, found "${flags.summary}" (no directory ${dirname(resolve(flags.summary))})`,
    );
  }
  const settings: GateSettings = { repeat, compare };
  if (flags.baseline !== undefined) {
    if (files.length > 1) {
      throw badInput(
        `--baseline: expected one scenario file (a baseline belongs to one scenario), found ${files.length}`,
      );
    }
    settings.baseline = { file: flags.baseline, result: readResultFile(flags.baseline) };
  }
  return settings;
}

function parseOverrides(flags: RunFlags): { protocols?: ProtocolName[]; durationMs?: number } {
  const overrides: { protocols?: ProtocolName[]; durationMs?: number } = {};
  if (flags.protocols !== undefined) {
    const names = flags.protocols
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const unknown = names.filter((p) => !isTransportName(p));
    if (unknown.length > 0 || names.length === 0) {
      throw badInput(
        `--protocols: expected a comma-separated list of ${transportNames().join(", ")}, found "${flags.protocols}"`,
      );
    }
    overrides.protocols = names;
  }
  if (flags.duration !== undefined) {
    try {
      overrides.durationMs = parseDuration(flags.duration);
    } catch {
      throw badInput(
        `--duration: expected a duration like 500ms, 30s or 2m, found "${flags.duration}"`,
      );
    }
  }
  return overrides;
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

type GateVerdict = "passed" | "failed" | "interrupted";

/** Runs one scenario `--repeat` times, reports, writes the results, and judges the gate. */
async function runGated(
  scenario: Scenario,
  notes: string[],
  flags: RunFlags,
  gate: GateSettings,
): Promise<GateVerdict> {
  const runs: RunResult[] = [];
  const files: string[] = [];
  for (let i = 1; i <= gate.repeat; i++) {
    if (gate.repeat > 1 && !flags.quiet) {
      process.stderr.write(`${scenario.name}: run ${i} of ${gate.repeat}\n`);
    }
    const result = await measure(scenario, notes, flags);
    if (result.status === "failed") {
      await reportFailure(result, flags);
      throw runFailed(`the run failed: ${result.error ?? "unknown error"}`);
    }
    runs.push(result);
    if (result.status === "partial") break;
    if (gate.repeat > 1) {
      const file = await writeResult(result, flags.out, `-run${i}`);
      files.push(file);
      if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
    }
  }

  const last = runs[runs.length - 1] as RunResult;
  // An interrupted series is not a sample of N: report the partial run alone.
  const interrupted = last.status === "partial";
  let final: GatedResult = last;
  let spread: MedianResult["spread"] | undefined;
  if (!interrupted && runs.length > 1) {
    const median = medianResult(runs);
    spread = median.spread;
    final = {
      ...median.result,
      finishedAt: last.finishedAt,
      repeat: { runs: runs.length, files, spread },
    };
  }
  const { record, outcomes, comparison } = evaluateGate(final, {
    thresholds: scenario.thresholds,
    baseline: gate.baseline,
    // Flags win over the scenario's own tolerances.
    compare: {
      ...gate.compare,
      tolerances: { ...scenario.tolerances, ...gate.compare.tolerances },
    },
  });
  if (outcomes !== null || comparison !== null) final.gate = record;

  const tag = interrupted ? "-partial" : spread !== undefined ? "-median" : "";
  const file = await writeResult(final, flags.out, tag);
  printReport(final, { outcomes, comparison, spread }, flags);
  if (flags.summary !== undefined) {
    appendFileSync(flags.summary, summaryMarkdown(final, { outcomes, comparison, spread }));
  }
  if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
  // A partial run exits 130 whatever its numbers say; its tables are for information only.
  if (interrupted) return "interrupted";
  printFailures(outcomes, comparison, gate.baseline?.file);
  return record.passed ? "passed" : "failed";
}

/**
 * A run that failed part-way (a server that would not start for the third
 * protocol) still shows and keeps what the protocols before it measured.
 */
async function reportFailure(result: RunResult, flags: RunFlags): Promise<void> {
  if (Object.keys(result.protocols).length === 0) return;
  const file = await writeResult(result, flags.out, "-failed");
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(`${renderTable(result, { color: process.stdout.isTTY === true })}\n`);
  if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
}

interface GateReport {
  outcomes: ThresholdOutcome[] | null;
  comparison: Comparison | null;
  spread: MedianResult["spread"] | undefined;
}

/**
 * The human tables go to stdout; with --json stdout holds only the JSON, so
 * the gate's tables move to stderr where CI logs still show them.
 */
function printReport(result: GatedResult, report: GateReport, flags: RunFlags): void {
  const parts: string[] = [];
  const color = (flags.json ? process.stderr : process.stdout).isTTY === true;
  if (!flags.json) parts.push(renderTable(result, { color }));
  if (report.spread !== undefined) parts.push(renderSpreadTable(report.spread));
  if (report.outcomes !== null) parts.push(renderThresholdTable(report.outcomes, { color }));
  if (report.comparison !== null) parts.push(renderComparisonTable(report.comparison, { color }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (!flags.quiet && parts.length > 0) process.stderr.write(`${parts.join("\n\n")}\n`);
  } else {
    process.stdout.write(`${parts.join("\n\n")}\n`);
  }
}

function summaryMarkdown(result: GatedResult, report: GateReport): string {
  const parts = [renderMarkdown(result)];
  if (report.spread !== undefined) parts.push(renderSpreadMarkdown(report.spread));
  if (report.outcomes !== null) parts.push(renderThresholdMarkdown(report.outcomes));
  if (report.comparison !== null) parts.push(renderComparisonMarkdown(report.comparison));
  return `${parts.join("\n")}\n`;
}

/** Always printed, also with --quiet: this is why the exit code is 1. */
function printFailures(
  outcomes: ThresholdOutcome[] | null,
  comparison: Comparison | null,
  baselineFile: string | undefined,
): void {
  const lines: string[] = [];
  const failed = outcomes?.filter((o) => !o.pass).length ?? 0;
  if (outcomes !== null && failed > 0) {
    lines.push(
      `error: ${failed} of ${outcomes.length} threshold${outcomes.length === 1 ? "" : "s"} failed`,
    );
    lines.push(...thresholdFailureLines(outcomes).map((l) => `  ${l}`));
  }
  if (comparison !== null && comparison.regressions.length > 0) {
    const n = comparison.regressions.length;
    lines.push(`error: ${n} metric${n === 1 ? "" : "s"} regressed against ${baselineFile}`);
    lines.push(...regressionLines(comparison.regressions).map((l) => `  ${l}`));
  }
  if (lines.length > 0) process.stderr.write(`${lines.join("\n")}\n`);
}

/** One run of the scenario, with the progress line and Ctrl-C handling; no output of its own. */
async function measure(scenario: Scenario, notes: string[], flags: RunFlags): Promise<RunResult> {
  const abort = new AbortController();
  const interactive = process.stderr.isTTY === true && !flags.quiet;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(
        `\n${signal}: stopping; collecting what was measured (again to force quit)\n`,
      );
      abort.abort();
    } else {
      void stopAllChildren(0).then(() => process.exit(130));
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const progress = new ProgressLine();
    const result = await runScenario(scenario, {
      signal: abort.signal,
      notes,
      log: flags.quiet
        ? undefined
        : (line) => process.stderr.write(`${clearLine(interactive)}${line}\n`),
      onProgress: interactive
        ? (p) => process.stderr.write(`\r${progress.format(p)}\x1b[K`)
        : undefined,
    });
    if (interactive) process.stderr.write(clearLine(true));
    return result;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** `tag` marks the file: "-partial", "-run2" (one of --repeat), "-median" (their median). */
async function writeResult(result: RunResult, dir: string, tag: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  const file = join(dir, `${result.scenario.name}-${stamp}${tag}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The live line on an interactive stderr: phase, time, connections, messages per second. */
class ProgressLine {
  private lastReceived = 0;
  private lastAtMs = 0;

  format(p: RunProgress): string {
    const now = Date.now();
    const perSec =
      this.lastAtMs > 0 && p.received >= this.lastReceived
        ? ((p.received - this.lastReceived) * 1000) / (now - this.lastAtMs)
        : 0;
    this.lastReceived = p.received;
    this.lastAtMs = now;
    const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
    return `${p.protocol} ${p.phase}  ${seconds(p.elapsedMs)}/${seconds(p.totalMs)}  open ${p.open}/${p.clients}  ${Math.round(perSec)} msg/s`;
  }
}

function clearLine(interactive: boolean): string {
  return interactive ? "\r\x1b[K" : "";
}
