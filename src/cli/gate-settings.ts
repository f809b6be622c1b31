/**
 * The gate's flags of `rtbench run` (--repeat, --baseline, --summary, --html
 * and the comparison flags), read and checked before any scenario runs: a
 * bad baseline or a missing directory must not cost a run.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { CompareOptions } from "../gate/compare.js";
import { readResultFile } from "../gate/result-file.js";
import type { RunResult } from "../metrics/types.js";
import { badInput, type RtbenchError } from "../shared/errors.js";
import { readCompareOptions } from "./compare-options.js";

export interface GateFlags {
  baseline?: string;
  tolerance: string[];
  judge: string[];
  timingFloor?: string;
  repeat: string;
  summary?: string;
  html?: string;
}

/** What the gate needs, read and checked before anything starts. */
export interface GateSettings {
  repeat: number;
  baseline?: { file: string; result: RunResult };
  compare: CompareOptions;
}

const MAX_REPEAT = 100;

/** Flags of the gate, checked before any scenario runs: a bad baseline must not cost a run. */
export function readGateSettings(files: string[], flags: GateFlags): GateSettings {
  const repeat = Number(flags.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
    throw badInput(
      `--repeat: expected a whole number of runs from 1 to ${MAX_REPEAT}, found "${flags.repeat}"`,
    );
  }
  const compare = readCompareOptions(flags);
  for (const [flag, file] of [
    ["--summary", flags.summary],
    ["--html", flags.html],
  ] as const) {
    if (file !== undefined && !existsSync(dirname(resolve(file)))) {
      throw badInput(
        `${flag}: expected a file in an existing directory, found "${file}" (no directory ${dirname(resolve(file))})`,
      );
    }
  }
  if (flags.html !== undefined && files.length > 1) {
    throw badInput(
      `--html: expected one scenario file (one page per run), found ${files.length}; render each result with rtbench report --format html`,
    );
  }
  const settings: GateSettings = { repeat, compare };
  if (flags.baseline !== undefined) {
    if (files.length > 1) {
      throw badInput(
        `--baseline: expected one scenario file (a baseline belongs to one scenario), found ${files.length}`,
      );
    }
    if (!existsSync(flags.baseline)) throw missingBaseline(flags.baseline, files[0] as string);
    settings.baseline = { file: flags.baseline, result: readResultFile(flags.baseline) };
  }
  return settings;
}

/** A baseline that does not exist yet: say how to make one, as the CI docs do. */
function missingBaseline(file: string, scenario: string): RtbenchError {
  const dir = dirname(file);
  return badInput(
    `--baseline: ${file} does not exist; make a baseline first (3 runs, on the machine that will compare):`,
    [
      `rtbench run ${scenario} --repeat 3 --out ${dir}`,
      `mv ${dir}/<scenario name>-*-median.json ${file}`,
      '(and commit it; see the README\'s "Baselines")',
    ],
  );
}
