/**
 * A baseline is refused only when the workload differs, not when the
 * scenario file's text does: comments, the description, thresholds and
 * tolerances may change. When the workload differs the refusal names the
 * fields and the command that makes a new baseline; an older baseline is
 * read through its recorded text, and one without even that says so.
 */
import { describe, expect, it } from "vitest";
import { compareResults } from "../src/gate/compare.js";
import { checkBaselineFor } from "../src/gate/gate.js";
import type { RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/types.js";
import { RtbenchError } from "../src/shared/errors.js";
import { makeResult } from "./helpers/result-fixture.js";

const FILE = "scenarios/chat.yaml";

const WRITTEN = `name: chat
description: chat rooms
protocols: [websocket, sse]
clients: { count: 10, channels: 2 }
publish: { rate: 5/s }
duration: 30s
thresholds:
  "*.lost": "== 0"
`;

/** The same workload: a comment, another description, a tighter threshold, a tolerance. */
const REWORDED = `# gate for the chat service
name: chat
description: chat rooms, measured in CI  # reworded
protocols: [websocket, sse]
clients: { count: 10, channels: 2 }
publish: { rate: 5/s }
duration: 30s
thresholds:
  "*.lost": "== 0"
  websocket.latency.p99: "< 50ms"
tolerances: { timing: "30%" }
`;

const MORE_CLIENTS = WRITTEN.replace("count: 10", "count: 20").replace("5/s", "8/s");

function scenarioOf(text: string): Scenario {
  return parseScenario(text, FILE);
}

/** A result of `text` as this rtbench writes it (`old`: as one that recorded no workload). */
function resultOf(text: string, old: "text" | "hash only" | null = null): RunResult {
  const { source, name } = scenarioOf(text);
  const scenario: RunResult["scenario"] = {
    name,
    file: source.file,
    sha256: source.sha256,
    text: old === "hash only" ? null : (source.text ?? null),
  };
  if (old === null && source.workload) scenario.workload = source.workload;
  return makeResult({ protocols: { websocket: {}, sse: {} }, overrides: { scenario } });
}

function refusal(run: () => unknown): RtbenchError {
  try {
    run();
  } catch (error) {
    if (error instanceof RtbenchError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("baseline check by workload", () => {
  it("keeps a baseline when only comments, description, thresholds or tolerances changed", () => {
    const baseline = resultOf(WRITTEN);
    expect(scenarioOf(REWORDED).source.sha256).not.toBe(baseline.scenario.sha256);
    expect(checkBaselineFor(scenarioOf(REWORDED), baseline, "base.json")).toEqual([]);
    expect(compareResults(baseline, resultOf(REWORDED)).warnings).not.toContainEqual(
      expect.stringMatching(/scenario/),
    );
  });

  it("refuses a changed workload, naming the fields and the command that refreshes it", () => {
    const error = refusal(() =>
      checkBaselineFor(scenarioOf(MORE_CLIENTS), resultOf(WRITTEN), "results/baselines/chat.json"),
    );
    expect(error.code).toBe("BAD_INPUT");
    expect(error.message).toBe(
      "results/baselines/chat.json: expected a baseline of scenarios/chat.yaml, found a result of another workload (2 fields differ, baseline -> current)",
    );
    expect(error.details).toEqual([
      "  clients.count: 10 -> 20",
      "  publish.ratePerSec: 5 -> 8",
      "make a new baseline (3 runs, on the machine that gates): npx rtbench run scenarios/chat.yaml --repeat 3 --out results/baselines && mv results/baselines/chat-*-median.json results/baselines/chat.json && rm results/baselines/chat-*-run*.json",
    ]);
    expect(() => compareResults(resultOf(WRITTEN), resultOf(MORE_CLIENTS))).toThrow(
      /cannot compare results of different scenarios: expected the same workload, found a result of another workload/,
    );
  });

  it("reads an older baseline's workload from its recorded scenario text", () => {
    const old = resultOf(WRITTEN, "text");
    expect(old.scenario.workload).toBeUndefined();
    expect(checkBaselineFor(scenarioOf(REWORDED), old, "base.json")).toEqual([]);
    expect(() => checkBaselineFor(scenarioOf(MORE_CLIENTS), old, "base.json")).toThrow(
      /another workload \(2 fields differ/,
    );
  });

  it("says plainly when an older baseline has only the text's hash, and how to refresh it", () => {
    const old = resultOf(WRITTEN, "hash only");
    // The same text still matches by its hash.
    expect(checkBaselineFor(scenarioOf(WRITTEN), old, "base.json")).toEqual([]);
    const error = refusal(() => checkBaselineFor(scenarioOf(REWORDED), old, "base.json"));
    expect(error.message).toMatch(
      /^base\.json: expected a baseline of scenarios\/chat\.yaml, found a result of another scenario \(scenario\.sha256 differs\), and the baseline records no workload to tell whether the load itself changed \(an older rtbench wrote it\)$/,
    );
    expect(error.details.at(-1)).toMatch(
      /^make a new baseline .*npx rtbench run scenarios\/chat\.yaml --repeat 3 --out \. /,
    );
  });

  it("records the file's workload, not a flag's override", () => {
    const flagged = parseScenario(WRITTEN, FILE, { durationMs: 10_000, protocols: ["sse"] });
    expect(flagged.durationMs).toBe(10_000);
    expect(flagged.source.workload).toEqual(scenarioOf(WRITTEN).source.workload);
  });

  it("compares two servers on purpose (ab): only the target may differ", () => {
    const nchan = `${WRITTEN}target: { protocol: nchan, url: "http://127.0.0.1:9001" }\n`;
    const other = nchan.replace("9001", "9002");
    const moreOther = other.replace("count: 10", "count: 20");
    expect(() => compareResults(resultOf(nchan), resultOf(other))).toThrow(RtbenchError);
    expect(
      compareResults(resultOf(nchan), resultOf(other), { serversDiffer: true }).warnings,
    ).not.toContainEqual(expect.stringMatching(/workload/));
    const error = refusal(() =>
      compareResults(resultOf(nchan), resultOf(moreOther), { serversDiffer: true }),
    );
    expect(error.details[0]).toMatch(/clients\.count: 10 -> 20/);
  });
});
