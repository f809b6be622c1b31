import { parseScenario } from "../../src/scenario/load.js";
import { RtbenchError } from "../../src/shared/errors.js";

/** The detail lines of the RtbenchError that parsing `text` throws; fails if it parses. */
export function problemsOf(text: string): string[] {
  try {
    parseScenario(text, "case.yaml");
  } catch (error) {
    if (error instanceof RtbenchError) return error.details;
    throw error;
  }
  throw new Error(`expected the scenario to be invalid:\n${text}`);
}
