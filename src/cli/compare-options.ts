import type { Command } from "commander";
import type { CompareOptions } from "../gate/compare.js";
import { parseJudgeFlags, parseTimingFloor, parseTolerances } from "../gate/gate.js";

/**
 * The flags that tune a comparison, the same on `run --baseline`,
 * `compare` and `ab`; `against` says what the current result is compared
 * with, for the help text.
 */
export function addCompareOptions(command: Command, against = ""): Command {
  const suffix = against === "" ? "" : ` against ${against}`;
  return command
    .option(
      "--tolerance <key=pct>",
      `relative tolerance${suffix} by kind (timing, rate), metric (latency.p99) or full name (websocket.latency.p99); repeatable`,
      repeatable,
      [] as string[],
    )
    .option(
      "--judge <metrics>",
      `judge these metrics${suffix} too (latency.p95, websocket.latency.max); comma-separated, repeatable`,
      repeatable,
      [] as string[],
    )
    .option("--timing-floor <ms>", "timing changes below this many ms never regress (default 1)");
}

/** The flags added above, read and checked (exit 2 on a bad one). */
export function readCompareOptions(flags: {
  tolerance: string[];
  judge: string[];
  timingFloor?: string;
}): CompareOptions {
  const options: CompareOptions = {
    tolerances: parseTolerances(flags.tolerance),
    judge: parseJudgeFlags(flags.judge),
  };
  if (flags.timingFloor !== undefined) options.timingFloorMs = parseTimingFloor(flags.timingFloor);
  return options;
}

function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
