import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import { interruptedWindow } from "../src/run-model/interrupt.js";
import { parseScenario } from "../src/scenario/load.js";

describe("interruptedWindow", () => {
  const window = { startMs: 1000, endMs: 11_000, drainMs: 2000 };

  it.each([
    ["not interrupted: the whole window", null, 11_000, 11_000],
    ["mid-window: up to drain time before the interrupt", 6000, 4000, 6000],
    ["during the drain: the tail of the window is in flight", 12_000, 10_000, 11_000],
    ["after the drain: everything had its chance", 13_500, 11_000, 11_000],
    ["just after the window opened: nothing judged yet", 2000, 1000, 2000],
    ["before the window: nothing at all", 500, 1000, 1000],
  ] as const)("%s", (_what, interruptedAtMs, judgedEndMs, inFlightEndMs) => {
    expect(interruptedWindow(window, interruptedAtMs)).toEqual({ judgedEndMs, inFlightEndMs });
  });
});

describe("an interrupted run", () => {
  it("counts messages still in flight at the interrupt apart, not as lost", async () => {
    // Short polls every second: at any moment up to a second of messages is
    // published but not yet fetched. They are in flight, not lost.
    const scenario = parseScenario(
      [
        "name: interrupted",
        "protocols: [short-poll]",
        "clients: { count: 20, channels: 2, rampUp: 200ms }",
        "publish: { rate: 20/s }",
        "duration: 60s",
        "warmup: 500ms",
        "drain: 1500ms",
        "shortPoll: { interval: 1s }",
      ].join("\n"),
      "interrupted.yaml",
    );
    const abort = new AbortController();
    let measuring = false;
    const result = await runScenario(scenario, {
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === "measuring" && !measuring) {
          measuring = true;
          setTimeout(() => abort.abort(), 3500);
        }
      },
    });
    expect(result.status).toBe("partial");
    const poll = result.protocols["short-poll"];
    expect(poll).toBeDefined();
    if (poll === undefined) return;
    expect(poll.delivered).toBeGreaterThan(0);
    expect(poll.lost).toBe(0);
    expect(poll.delivered + poll.lost).toBe(poll.expected);
    expect(poll.inFlightAtInterrupt).toBeGreaterThan(0);
  });
});
