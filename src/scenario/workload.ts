/**
 * What defines a scenario's workload, so a baseline is refused only when the
 * load it measured differs: the normalised scenario (defaults applied, units
 * as numbers) without what labels or judges a run (name, description,
 * thresholds, tolerances, compare, the generator and saturation limits) and
 * without where the file happens to sit. A comment, a reworded description
 * or a tightened threshold leaves it unchanged; `clients.count: 200` does not.
 */
import { createHash } from "node:crypto";
import { relative } from "node:path";
import type { Workload } from "../metrics/types.js";
import type { Scenario } from "./types.js";

/** Top-level fields of a Scenario that label or judge a run, or say where it came from. */
const NOT_WORKLOAD: ReadonlySet<keyof Scenario> = new Set([
  "name",
  "description",
  "source",
  "thresholds",
  "tolerances",
  "compare",
  "generator",
  "saturation",
]);

export function scenarioWorkload(scenario: Scenario): Workload {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(scenario)) {
    if (!NOT_WORKLOAD.has(key as keyof Scenario)) flatten(key, placeFree(key, value), fields);
  }
  // Flat paths sorted: the same fields give the same text whatever the key order.
  const canonical = JSON.stringify(
    Object.keys(fields)
      .sort()
      .map((path) => [path, fields[path]]),
  );
  return {
    sha256: createHash("sha256").update(canonical).digest("hex"),
    fields,
  };
}

/** `path: before -> after` for each field that differs (added or removed ones too), in path order. */
export function workloadChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): string[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const show = (fields: Record<string, unknown>, path: string) =>
    path in fields ? JSON.stringify(fields[path]) : "(none)";
  return paths
    .filter((path) => show(before, path) !== show(after, path))
    .map((path) => `${path}: ${show(before, path)} -> ${show(after, path)}`);
}

/** The target's command without the checkout's own directory (it differs between machines). */
function placeFree(key: string, value: unknown): unknown {
  if (key !== "target" || value === null) return value;
  const target = value as NonNullable<Scenario["target"]>;
  if (target.command === null) return target;
  const { scenarioDir, files, ...command } = target.command;
  return {
    ...target,
    command: { ...command, files: files.map((file) => relative(scenarioDir, file)) },
  };
}

function flatten(path: string, value: unknown, into: Record<string, unknown>): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    if (value.length === 0) into[path] = [];
    value.forEach((item, i) => {
      flatten(`${path}[${i}]`, item, into);
    });
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) into[path] = {};
    for (const [key, item] of entries) flatten(`${path}.${key}`, item, into);
  } else {
    into[path] = value;
  }
}
