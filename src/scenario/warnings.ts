import { readFileSync } from "node:fs";
import type { Fault, Scenario } from "./types.js";
import { formatDuration } from "./units.js";

/**
 * What is valid but probably not what the author meant: said by `validate`
 * and before a run, never an error (exit 0 stays 0). Each line says what
 * happens and what to change.
 */
export function scenarioWarnings(scenario: Scenario): string[] {
  return [...portWarnings(scenario), ...faultWarnings(scenario)];
}

/**
 * rtbench picks a free port per instance when the target has no URL with a
 * port; a command (and its files) that never reads `{port}` starts a server
 * on some other port, and the health check waits for one that never comes.
 */
function portWarnings(scenario: Scenario): string[] {
  const command = scenario.target?.command;
  if (command == null || command.basePort !== null) return [];
  const texts = [command.line, ...command.files.map((file) => readOrEmpty(file))];
  if (texts.some((text) => text.includes("{port}"))) return [];
  return [
    `target.command has no {port}: rtbench picks a free port for each instance and expects the server there (put {port} in the command or its files, or give target.url a port: http://127.0.0.1:8080)`,
  ];
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    // A missing file is a validation problem of its own, reported elsewhere.
    return "";
  }
}

/**
 * A fault's `at` counts from the start of ramp-up; deliveries are measured
 * from rampUp + warmup to rampUp + duration. A fault outside that span
 * (often after `--duration` shortened the run) changes nothing measured,
 * or never fires at all.
 */
function faultWarnings(scenario: Scenario): string[] {
  const { rampUpMs } = scenario.clients;
  const startMs = rampUpMs + scenario.warmupMs;
  const endMs = rampUpMs + scenario.durationMs;
  const lastMs = endMs + scenario.drainMs;
  const span = `the measured window is ${formatDuration(startMs)} to ${formatDuration(endMs)} from the start of ramp-up (rampUp ${formatDuration(rampUpMs)}, warmup ${formatDuration(scenario.warmupMs)}, duration ${formatDuration(scenario.durationMs)})`;
  const warnings: string[] = [];
  for (const fault of scenario.faults) {
    const what = `fault ${fault.action} at ${formatDuration(fault.atMs)}`;
    if (fault.atMs >= lastMs) {
      warnings.push(
        `${what} never fires: the run ends at ${formatDuration(lastMs)}; ${span} (a shorter --duration?)`,
      );
    } else if (fault.atMs >= endMs) {
      warnings.push(
        `${what} fires after the measured window: its effect is not measured; ${span} (a shorter --duration?)`,
      );
    } else if (faultOverMs(fault) < startMs) {
      warnings.push(
        `${what} is over before the measured window (it falls in ramp-up or warmup): its effect is not measured; ${span}`,
      );
    }
  }
  return warnings;
}

/** When a fault's own action is over (a server stopped for good: never). */
function faultOverMs(fault: Fault): number {
  switch (fault.action) {
    case "kill":
      return fault.restartAfterMs === null
        ? Number.POSITIVE_INFINITY
        : fault.atMs + fault.restartAfterMs;
    case "stall":
    case "redis-restart":
    case "stall-clients":
      return fault.atMs + fault.forMs;
    case "flap":
      return Number.POSITIVE_INFINITY;
    default:
      return fault.atMs;
  }
}
