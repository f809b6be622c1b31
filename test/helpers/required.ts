import { describe } from "vitest";

/**
 * Declares a suite that needs software from outside the repository (nginx
 * with Nchan, Pushpin). When `missing` says why it cannot run here, the suite
 * is skipped with that reason in its name, unless the environment variable
 * `require` is 1 (CI), where it runs and fails.
 */
export function describeNeeding(
  name: string,
  missing: string | null,
  require: string,
  fn: () => void,
): void {
  if (missing !== null && process.env[require] !== "1") {
    describe.skip(`${name} (skipped: ${missing}; set ${require}=1 to fail instead)`, fn);
    return;
  }
  describe(name, fn);
}
