/**
 * `rtbench run`: its flags and help, every scenario read and checked before
 * any runs, and each run through the gate (gated-run.ts) on this host or on
 * workers; the exit code is the worst verdict's.
 */
import { Command, Option } from "commander";
import { checkBaselineFor } from "../../gate/gate.js";
import { judgedHelpText, wrapWords } from "../../gate/judged.js";
import type { WorkerHub } from "../../load/workers/coordinator.js";
import { loadScenario } from "../../scenario/load.js";
import { scenarioServers } from "../../scenario/server-section.js";
import type { Scenario } from "../../scenario/types.js";
import { scenarioWarnings } from "../../scenario/warnings.js";
import { serviceFor } from "../../services/registry.js";
import { EXIT_CODES, errorText, RtbenchError } from "../../shared/errors.js";
import { addCompareOptions } from "../compare-options.js";
import { type GateFlags, readGateSettings } from "../gate-settings.js";
import { runGated } from "../gated-run.js";
import { addRunOptions, type RunOptionFlags, readRunOverrides } from "../run-options.js";
import {
  addWorkerOptions,
  readWorkerFlags,
  type WorkerFlags,
  withWorkers,
} from "../workers-options.js";

interface RunFlags extends RunOptionFlags, WorkerFlags, GateFlags {
  json?: boolean;
}

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
