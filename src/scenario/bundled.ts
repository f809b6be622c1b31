import { existsSync, readdirSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { packageRoot } from "../util/paths.js";

/**
 * The example scenarios that ship with rtbench (`scenarios/` in the
 * package), so `npx rtbench run quickstart` works from any folder.
 */
export const BUNDLED_DIR = join(packageRoot, "scenarios");

export function bundledScenarios(): string[] {
  if (!existsSync(BUNDLED_DIR)) return [];
  return readdirSync(BUNDLED_DIR)
    .filter((file) => extname(file) === ".yaml")
    .map((file) => file.slice(0, -".yaml".length))
    .sort();
}

/**
 * A scenario argument as a file: a path that exists stays as it is; a bare
 * name (no folder, no extension) that is not a file is a bundled scenario.
 * Returns undefined when it is neither, for the loader's own message.
 */
export function bundledScenarioFile(arg: string): string | undefined {
  if (existsSync(arg) || extname(arg) !== "" || !/^[\w.-]+$/.test(arg)) return undefined;
  const file = join(BUNDLED_DIR, `${arg}.yaml`);
  if (!existsSync(file)) return undefined;
  // Relative when it can be: the result file records it and reports show it.
  const shown = relative(process.cwd(), file);
  return shown.startsWith("..") ? file : shown;
}
