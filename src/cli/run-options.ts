import { type Command, Option } from "commander";
import type { ScenarioOverrides } from "../scenario/load.js";
import { parseDuration } from "../scenario/units.js";
import { badInput } from "../shared/errors.js";
import { isTransportName, transportNames } from "../shared/transports.js";

/**
 * The flags of every command that runs a scenario (`run`, `ab`): defined
 * once, so `ab --duration 20s` means what `run --duration 20s` means and a
 * new run flag reaches both.
 */
export interface RunOptionFlags {
  protocols?: string;
  duration?: string;
  out: string;
  quiet?: boolean;
}

export function addRunOptions(command: Command): Command {
  return command
    .option("--protocols <list>", `comma-separated subset of ${transportNames().join(",")}`)
    .option("--duration <duration>", "override the scenario's duration, warmup included (e.g. 20s)")
    .addOption(new Option("--out <dir>", "where result JSON files are written").default("results"))
    .option("--quiet", "no progress line and no notices on stderr");
}

/** `--protocols` and `--duration` as scenario overrides; exit 2 on a bad value. */
export function readRunOverrides(flags: RunOptionFlags): ScenarioOverrides {
  const overrides: ScenarioOverrides = {};
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
