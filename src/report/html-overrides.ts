import { parse } from "yaml";
import { splitRunKey } from "../metrics/run-keys.js";
import type { RunResult } from "../metrics/types.js";
import { SCENARIO_DEFAULTS } from "../scenario/defaults.js";
import { formatDuration, parseDuration } from "../scenario/units.js";

/**
 * Where a command-line flag changed what the scenario file says
 * (`--duration`, `--protocols`): the page shows the file's text, so it must
 * say that this run did not run it as written. Read by comparing the file
 * with what the run recorded; empty when they agree or the text is absent.
 */
export function flagOverrides(result: RunResult): string[] {
  const text = result.scenario.text;
  if (typeof text !== "string") return [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [];
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return [];
  const fields = doc as Record<string, unknown>;
  const lines: string[] = [];
  const written =
    typeof fields.duration === "string" ? fields.duration : SCENARIO_DEFAULTS.duration;
  try {
    const fileMs = parseDuration(written);
    if (fileMs !== result.setup.durationMs) {
      lines.push(
        `duration: ${formatDuration(result.setup.durationMs)} in this run, ${formatDuration(fileMs)} in the file (--duration)`,
      );
    }
  } catch {
    // Not a duration the file could have run with: nothing to compare.
  }
  if (Array.isArray(fields.protocols)) {
    const listed = fields.protocols.map(String);
    const ran = [...new Set(Object.keys(result.protocols).map((k) => splitRunKey(k).protocol))];
    // A run that stopped early ran fewer protocols without any flag.
    const fewer = result.status === "complete" && ran.length < listed.length;
    if (ran.length > 0 && (fewer || ran.some((p) => !listed.includes(p)))) {
      lines.push(
        `protocols: ${ran.join(", ")} in this run, ${listed.join(", ")} in the file (--protocols)`,
      );
    }
  }
  return lines;
}
