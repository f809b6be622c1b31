/**
 * Whether a baseline measured the same workload as what it is compared with
 * (the scenario about to run, or another result). The workload is the
 * normalised scenario without labels and judging (src/scenario/workload.ts),
 * so a comment, a description or a threshold does not make a baseline stale;
 * when the workload differs, the refusal lists what changed and how to make
 * a new baseline. A result from before workloads were recorded is read
 * through its recorded scenario text; without that, only the text's hash is
 * left to compare, and the refusal says so.
 */
import { dirname, join } from "node:path";
import type { RunResult, Workload } from "../metrics/types.js";
import { parseScenario } from "../scenario/load.js";
import { workloadChanges } from "../scenario/workload.js";
import { badInput } from "../shared/errors.js";

type ScenarioRecord = RunResult["scenario"];

/** Changed fields listed before "... and N more". */
const MAX_CHANGES_SHOWN = 12;

export interface WorkloadSides {
  baseline: ScenarioRecord;
  current: ScenarioRecord;
  /** The baseline result file, when it is one (`run --baseline FILE`, `compare FILE ...`). */
  baselineFile: string | null;
  /** Starts the refusal: `base.json: expected a baseline of chat.yaml` or `cannot compare results`. */
  refusal: string;
  /** Top-level fields left out of the match (`target` when two servers are compared on purpose). */
  except?: readonly string[];
}

/**
 * Throws bad input (exit 2) when the two sides' workloads differ, listing the
 * fields; returns warnings when it cannot tell.
 */
export function checkSameWorkload(sides: WorkloadSides): string[] {
  const { baseline, current } = sides;
  const before = workloadOf(baseline);
  const after = workloadOf(current);
  if (before !== null && after !== null) {
    if (before.sha256 === after.sha256) return [];
    const except = sides.except ?? [];
    const changes = workloadChanges(
      fieldsExcept(before.fields, except),
      fieldsExcept(after.fields, except),
    );
    // Only the fields left out differ: the same workload.
    if (changes.length === 0) return [];
    const shown = changes.slice(0, MAX_CHANGES_SHOWN);
    if (changes.length > shown.length) shown.push(`... and ${changes.length - shown.length} more`);
    throw badInput(
      `${sides.refusal}, found a result of another workload (${changes.length === 1 ? "1 field differs" : `${changes.length} fields differ`}, baseline -> current)`,
      [...shown.map((line) => `  ${line}`), refreshLine(sides)],
    );
  }
  const b = baseline.sha256;
  const c = current.sha256;
  if (b === null || c === null) {
    return ["a result has no scenario.sha256: cannot verify both ran the same scenario"];
  }
  if (b === c) return [];
  const old = before === null ? "the baseline" : "the current result";
  throw badInput(
    `${sides.refusal}, found a result of another scenario (scenario.sha256 differs), and ${old} records no workload to tell whether the load itself changed (an older rtbench wrote it)`,
    [`baseline: ${baseline.name} ${b}`, `current:  ${current.name} ${c}`, refreshLine(sides)],
  );
}

/** The fields outside the given top-level ones (`target`, and `target.url`, `target.command`...). */
function fieldsExcept(
  fields: Record<string, unknown>,
  except: readonly string[],
): Record<string, unknown> {
  if (except.length === 0) return fields;
  const kept: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(fields)) {
    const top = path.split(/[.[]/, 1)[0] as string;
    if (!except.includes(top)) kept[path] = value;
  }
  return kept;
}

/** The record's workload, or the one its scenario text defines (results of an older rtbench). */
function workloadOf(record: ScenarioRecord): Workload | null {
  if (record.workload !== undefined) return record.workload;
  if (typeof record.text !== "string") return null;
  try {
    return parseScenario(record.text, record.file ?? `${record.name}.yaml`).source.workload ?? null;
  } catch {
    // The text no longer validates (a newer schema, a template file that moved): no workload.
    return null;
  }
}

/** The command that makes a new baseline of the current scenario, where the old one is. */
function refreshLine(sides: WorkloadSides): string {
  const { current } = sides;
  const file = current.file ?? sides.baseline.file ?? "SCENARIO.yaml";
  const target = sides.baselineFile ?? join("results", "baselines", `${current.name}.json`);
  const dir = dirname(target);
  // `run --out` names its files NAME-<start time>-run<i>.json and NAME-<start time>-median.json.
  const files = (tag: string) => join(dir, `${current.name}-*-${tag}.json`);
  return `make a new baseline (3 runs, on the machine that gates): npx rtbench run ${file} --repeat 3 --out ${dir} && mv ${files("median")} ${target} && rm ${files("run*")}`;
}

/** Refuses results that cannot be compared; returns warnings for those that can, with doubts. */
export function assertComparable(
  baseline: RunResult,
  current: RunResult,
  options: { serversDiffer?: boolean } = {},
): string[] {
  if (baseline.schemaVersion !== current.schemaVersion) {
    throw badInput(
      `cannot compare results with different schemaVersion (baseline ${baseline.schemaVersion}, current ${current.schemaVersion})`,
    );
  }
  return checkSameWorkload({
    baseline: baseline.scenario,
    current: current.scenario,
    baselineFile: null,
    refusal: "cannot compare results of different scenarios: expected the same workload",
    except: options.serversDiffer ? ["target"] : [],
  });
}
