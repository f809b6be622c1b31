/**
 * The gate is quiet on noise and loud on regressions, measured on real runs:
 * the quickstart, shortened, run unchanged several times and compared pair
 * by pair, gives no regression verdict; the same with every delivery held
 * 30 ms longer by the server gives a regression of latency p50. (The full
 * measurement, 10 quickstart runs, is `npm run bench -- noise`.)
 */
import { describe, expect, it } from "vitest";
import { compareResults } from "../src/gate/compare.js";
import { runScenario } from "../src/load/run.js";
import type { RunResult } from "../src/metrics/types.js";
import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/types.js";

/** Two unchanged runs and a changed one keep the file under a minute on a busy 2-core machine. */
const UNCHANGED_RUNS = 2;

async function shortQuickstart(): Promise<Scenario> {
  // A poll and a stream transport (long polling is the noisiest), a short drain; the
  // ramp-up stays the quickstart's, or connect times get burstier. A single run's noise
  // is judged from its per-second values: a 10 s window keeps a busy second out of the
  // median's interval (with 2 s, other test files on the machine made +30 ms look like noise).
  const scenario = await loadScenario("scenarios/quickstart.yaml", {
    protocols: ["long-poll", "websocket"],
    durationMs: 12_000,
  });
  return { ...scenario, drainMs: 500 };
}

describe("the baseline gate on real runs", () => {
  it("gives no verdict between unchanged runs and fails latency p50 with 30 ms more", async () => {
    const scenario = await shortQuickstart();
    const unchanged: RunResult[] = [];
    for (let i = 0; i < UNCHANGED_RUNS; i++) unchanged.push(await runScenario(scenario));
    const delayed = await runScenario({
      ...scenario,
      server: { ...scenario.server, deliveryDelayMs: 30 },
    });
    for (const result of [...unchanged, delayed]) expect(result.status).toBe("complete");

    const falseAlarms: string[] = [];
    for (const [i, baseline] of unchanged.entries()) {
      for (const [j, current] of unchanged.entries()) {
        if (i === j) continue;
        const { regressions } = compareResults(baseline, current);
        falseAlarms.push(
          ...regressions.map(
            (r) => `run ${i + 1} -> ${j + 1}: ${r.metric} ${r.baseline} -> ${r.current}`,
          ),
        );
      }
    }
    expect(falseAlarms).toEqual([]);

    for (const baseline of unchanged) {
      const { rows, regressions } = compareResults(baseline, delayed);
      const regressed = regressions.map((r) => r.metric);
      // On failure, say what the gate saw: values and the evidence it weighed.
      const seen = rows
        .filter((r) => r.metric.endsWith("latency.p50"))
        .map(
          (r) =>
            `${r.metric} ${r.baseline} -> ${r.current} ${r.verdict} (${JSON.stringify(r.evidence)})`,
        )
        .join("; ");
      expect(regressed, seen).toContain("long-poll.latency.p50");
      expect(regressed, seen).toContain("websocket.latency.p50");
    }
  }, 150_000);
});
