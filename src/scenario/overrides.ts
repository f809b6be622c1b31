/**
 * The command line's overrides of a scenario (`--protocols`, `--duration`)
 * checked before the file is, with the same words as a file's problems.
 */
import type { Problem } from "../shared/problem.js";
import { isTransportName, transportNames } from "../shared/transports.js";
import type { ScenarioOverrides } from "./types.js";

/** Checks overrides given by the caller (CLI flags) with the same words as file problems. */
export function overrideProblems(overrides: ScenarioOverrides): Problem[] {
  const problems: Problem[] = [];
  const { protocols, durationMs } = overrides;
  if (protocols !== undefined) {
    if (protocols.length === 0) {
      problems.push({ path: "protocols (override)", text: "expected at least one protocol" });
    }
    protocols.forEach((name, index) => {
      if (!isTransportName(name)) {
        problems.push({
          path: `protocols[${index}] (override)`,
          text: `expected one of ${transportNames().join(", ")}, found ${JSON.stringify(name)}`,
        });
      } else if (protocols.indexOf(name) !== index) {
        problems.push({
          path: `protocols[${index}] (override)`,
          text: `expected each protocol once, found ${JSON.stringify(name)} again`,
        });
      }
    });
  }
  if (durationMs !== undefined && !(Number.isFinite(durationMs) && durationMs > 0)) {
    problems.push({
      path: "duration (override)",
      text: `expected a duration above 0, found ${durationMs}ms`,
    });
  }
  return problems;
}
