import { summarizeEncoded } from "../metrics/histogram.js";
import type { HistogramSummary, MeasureResults } from "../metrics/types.js";
import type { MeasurePart } from "../run-model/shard-report.js";
import { errorText } from "../shared/errors.js";
import type {
  AnyMeasure,
  MeasureProbe,
  MergedTally,
  ProbeContext,
  ResultContext,
} from "./measure.js";

/**
 * The measures' side of the parent: their probes while the clients run
 * (load/stages/observe.ts calls the hooks), and their fragments of the result
 * from the shards' parts and what the probes saw (load/result/result.ts).
 */

/** What the probes saw, by measure name. */
export type ProbeResults = Record<string, unknown>;

export class Probes {
  private readonly running: [name: string, probe: MeasureProbe<unknown>][] = [];

  constructor(
    list: readonly AnyMeasure[],
    private readonly context: ProbeContext,
  ) {
    for (const measure of list) {
      const probe = this.guard(measure.name, () => measure.probe?.(context));
      if (probe) this.running.push([measure.name, probe]);
    }
  }

  async windowStart(): Promise<void> {
    await Promise.all(
      this.running.map(([name, p]) => this.guardAsync(name, () => p.windowStart?.())),
    );
  }

  async windowEnd(): Promise<void> {
    await Promise.all(
      this.running.map(([name, p]) => this.guardAsync(name, () => p.windowEnd?.())),
    );
  }

  second(second: number): void {
    for (const [name, p] of this.running) this.guard(name, () => p.second?.(second));
  }

  /** What each probe saw; a probe that failed says so in the log and gives null. */
  async finish(): Promise<ProbeResults> {
    const results: ProbeResults = {};
    for (const [name, p] of this.running) {
      results[name] = (await this.guardAsync(name, () => p.finish())) ?? null;
    }
    return results;
  }

  // A probe is an observer: its failure costs its own figures, never the run.
  private guard<T>(name: string, hook: () => T): T | undefined {
    try {
      return hook();
    } catch (error) {
      this.context.log(`measure ${name}: probe failed: ${errorText(error)}`);
      return undefined;
    }
  }

  private async guardAsync<T>(name: string, hook: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await hook();
    } catch (error) {
      this.context.log(`measure ${name}: probe failed: ${errorText(error)}`);
      return undefined;
    }
  }
}

/** One measure's counts summed and timings merged (as histograms) over the shards' parts. */
export function mergedTally(parts: readonly (MeasurePart | undefined)[]): MergedTally {
  const present = parts.filter((p): p is MeasurePart => p !== undefined);
  return {
    count: (name) => present.reduce((sum, p) => sum + (p.counts[name] ?? 0), 0),
    timing: (name): HistogramSummary =>
      summarizeEncoded(present.flatMap((p) => (p.timings[name] ? [p.timings[name]] : []))),
  };
}

/**
 * Every measure's fragment of one protocol's result, in registry order.
 * `parts`: each shard's report of its measures.
 */
export function measureFragments(
  list: readonly AnyMeasure[],
  parts: readonly Record<string, MeasurePart>[],
  probes: ProbeResults,
  context: Omit<ResultContext<unknown>, "tally" | "probe">,
): MeasureResults {
  const fragments: Record<string, unknown> = {};
  for (const measure of list) {
    const tally = mergedTally(parts.map((p) => p[measure.name]));
    const probe = probes[measure.name] ?? null;
    Object.assign(fragments, measure.result({ ...context, tally, probe }));
  }
  // Each measure's `result` is checked against its own fragment type, which its
  // file merges into MeasureResults: together they are that interface.
  return fragments as unknown as MeasureResults;
}
