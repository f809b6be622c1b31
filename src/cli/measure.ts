import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunProgress } from "../load/protocol-run.js";
import { runScenario } from "../load/run.js";
import type { WorkerHub } from "../load/workers/coordinator.js";
import type { RunResult } from "../metrics/types.js";
import { renderJson } from "../report/json.js";
import type { Scenario } from "../scenario/types.js";
import { stopAllChildren } from "../util/children.js";

/**
 * What the commands that run scenarios share (`run`, `ab`): one run with the
 * live progress line and Ctrl-C handling, and its result file.
 */

/** One run of the scenario, with the progress line and Ctrl-C handling; no output of its own. */
export async function measure(
  scenario: Scenario,
  notes: string[],
  flags: { quiet?: boolean },
  /** Connected workers (`--workers N`) to run the clients; absent: this host's shards. */
  workers?: WorkerHub,
): Promise<RunResult> {
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
  // A closed terminal (SIGHUP) stops the run like Ctrl-C: what was measured is kept.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const name of signals) process.on(name, onSignal);
  try {
    const progress = new ProgressLine();
    const result = await runScenario(scenario, {
      signal: abort.signal,
      notes,
      workers,
      serverHost: workers?.serverHost ?? undefined,
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
    for (const name of signals) process.off(name, onSignal);
  }
}

/**
 * `tag` marks the file: "-partial", "-run2" (one of --repeat), "-median"
 * (their median). The file is always directly in `dir`, named from the
 * scenario's name made safe (resultFileStem).
 */
export async function writeResult(result: RunResult, dir: string, tag: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, "-");
  const file = join(dir, `${resultFileStem(result.scenario.name)}-${stamp}${tag}.json`);
  await writeFile(file, `${renderJson(result)}\n`);
  return file;
}

/**
 * A scenario's name as the start of a file name: anything but letters,
 * digits, `_`, `-` and inner dots becomes `_`, so `../../x` or `a/b` can
 * neither leave `--out` nor name a directory that does not exist (a name is
 * a label, and need not be a file name: it is sanitised here, not refused).
 */
export function resultFileStem(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[.-]+/, "_");
  return safe.replace(/\.{2,}/g, "_").slice(0, 100) || "scenario";
}

/**
 * The live line on an interactive stderr: phase, time, connections, and
 * deliveries per second (what subscribers received, over all of them: not
 * the publish rate).
 */
export class ProgressLine {
  private lastReceived = 0;
  private lastAtMs = 0;

  format(p: RunProgress, now = Date.now()): string {
    const perSec =
      this.lastAtMs > 0 && p.received >= this.lastReceived
        ? ((p.received - this.lastReceived) * 1000) / (now - this.lastAtMs)
        : 0;
    this.lastReceived = p.received;
    this.lastAtMs = now;
    const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
    return `${p.protocol} ${p.phase}  ${seconds(p.elapsedMs)}/${seconds(p.totalMs)}  open ${p.open}/${p.clients}  ${Math.round(perSec)} deliveries/s`;
  }
}

function clearLine(interactive: boolean): string {
  return interactive ? "\r\x1b[K" : "";
}
