import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, Option } from "commander";
import { type RunProgress, runScenario } from "../../load/run.js";
import type { RunResult } from "../../metrics/types.js";
import { renderTable } from "../../report/table.js";
import { loadScenario } from "../../scenario/load.js";
import type { Scenario } from "../../scenario/types.js";
import { parseDuration } from "../../scenario/units.js";
import { badInput } from "../../shared/errors.js";
import { PROTOCOLS, type ProtocolName } from "../../shared/protocol.js";
import { stopAllChildren } from "../../util/children.js";
import { redisServerAvailable } from "../../util/redis-server.js";

interface RunFlags {
  protocols?: string;
  duration?: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

export function runCommand(): Command {
  return new Command("run")
    .description("run scenario files, once per protocol, and print the comparison table")
    .argument("<files...>", "scenario files (YAML or JSON)")
    .option("--protocols <list>", `comma-separated subset of ${PROTOCOLS.join(",")}`)
    .option("--duration <duration>", "override the measured duration (e.g. 20s)")
    .addOption(new Option("--out <dir>", "where result JSON files are written").default("results"))
    .option("--json", "print the result JSON to stdout instead of the table")
    .option("--quiet", "no progress line and no notices on stderr")
    .action(async (files: string[], flags: RunFlags) => {
      const overrides = parseOverrides(flags);
      const scenarios: Scenario[] = [];
      for (const file of files) scenarios.push(await loadScenario(file, overrides));
      for (const scenario of scenarios) {
        const prepared = prepare(scenario, flags);
        await runOne(prepared.scenario, prepared.notes, flags);
        if (process.exitCode) return;
      }
    });
}

function parseOverrides(flags: RunFlags): { protocols?: ProtocolName[]; durationMs?: number } {
  const overrides: { protocols?: ProtocolName[]; durationMs?: number } = {};
  if (flags.protocols !== undefined) {
    const names = flags.protocols
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const unknown = names.filter((p) => !(PROTOCOLS as readonly string[]).includes(p));
    if (unknown.length > 0 || names.length === 0) {
      throw badInput(
        `--protocols: expected a comma-separated list of ${PROTOCOLS.join(", ")}, found "${flags.protocols}"`,
      );
    }
    overrides.protocols = names as ProtocolName[];
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
 * A scenario that needs Redis still runs where no redis-server is installed:
 * on the in-memory broker with one instance, saying so loudly, rather than
 * not at all. Multi-instance fan-out is then not measured.
 */
function prepare(scenario: Scenario, flags: RunFlags): { scenario: Scenario; notes: string[] } {
  if (
    scenario.target ||
    scenario.server.broker !== "redis" ||
    process.env.REDIS_URL ||
    redisServerAvailable()
  ) {
    return { scenario, notes: [] };
  }
  const note = `redis-server is not installed: running on the in-memory broker with 1 instance instead of ${scenario.server.instances} over Redis (install redis-server to measure fan-out)`;
  if (!flags.quiet) process.stderr.write(`notice: ${note}\n`);
  return {
    scenario: { ...scenario, server: { ...scenario.server, broker: "memory", instances: 1 } },
    notes: [note],
  };
}

async function runOne(scenario: Scenario, notes: string[], flags: RunFlags): Promise<RunResult> {
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
    const file = await writeResult(result, flags.out);
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${renderTable(result, { color: process.stdout.isTTY === true })}\n`);
    if (!flags.quiet) process.stderr.write(`result written to ${file}\n`);
    if (result.status === "partial") process.exitCode = 130;
    return result;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function writeResult(result: RunResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  const file = join(
    dir,
    `${result.scenario.name}-${stamp}${result.status === "partial" ? "-partial" : ""}.json`,
  );
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
