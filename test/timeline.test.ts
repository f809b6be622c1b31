import { describe, expect, it } from "vitest";
import {
  measuredWindow,
  phaseAt,
  planTimeline,
  type Timeline,
  type TimelineInput,
} from "../src/run-model/timeline.js";

const BASE: TimelineInput = {
  nowMs: 10_000,
  startDelayMs: 300,
  rampUpMs: 2000,
  warmupMs: 1000,
  durationMs: 5000,
  drainMs: 1500,
  faultsAtMs: [],
};

describe("planTimeline", () => {
  const cases: [string, Partial<TimelineInput>, Omit<Timeline, "faultsMs">][] = [
    [
      "ramp-up, warmup inside duration, drain",
      {},
      {
        rampStartMs: 10_300,
        publishStartMs: 12_300,
        measureStartMs: 13_300,
        measureEndMs: 17_300,
        drainEndMs: 18_800,
        totalMs: 8500,
      },
    ],
    [
      "no ramp-up, warmup or drain",
      { rampUpMs: 0, warmupMs: 0, drainMs: 0 },
      {
        rampStartMs: 10_300,
        publishStartMs: 10_300,
        measureStartMs: 10_300,
        measureEndMs: 15_300,
        drainEndMs: 15_300,
        totalMs: 5000,
      },
    ],
    [
      "warmup as long as duration leaves an empty window",
      { warmupMs: 5000 },
      {
        rampStartMs: 10_300,
        publishStartMs: 12_300,
        measureStartMs: 17_300,
        measureEndMs: 17_300,
        drainEndMs: 18_800,
        totalMs: 8500,
      },
    ],
    [
      "fractional times stay exact",
      { nowMs: 0.5, startDelayMs: 0, rampUpMs: 0.25 },
      {
        rampStartMs: 0.5,
        publishStartMs: 0.75,
        measureStartMs: 1000.75,
        measureEndMs: 5000.75,
        drainEndMs: 6500.75,
        totalMs: 6500.25,
      },
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      expect(planTimeline({ ...BASE, ...input })).toEqual({ ...expected, faultsMs: [] });
    });
  }

  it("puts faults at their `at` from the start of ramp-up, in the scenario's order", () => {
    const timeline = planTimeline({ ...BASE, faultsAtMs: [4000, 0, 2500.5] });
    expect(timeline.faultsMs).toEqual([14_300, 10_300, 12_800.5]);
  });
});

describe("phaseAt", () => {
  const timeline = planTimeline(BASE);
  const cases: [number, ReturnType<typeof phaseAt>][] = [
    [10_000, "ramp-up"], // planned, not started: still counts as ramp-up
    [10_300, "ramp-up"],
    [12_299.9, "ramp-up"],
    [12_300, "warmup"],
    [13_299, "warmup"],
    [13_300, "measuring"],
    [17_299, "measuring"],
    [17_300, "draining"],
    [99_000, "draining"],
  ];
  for (const [atMs, phase] of cases) {
    it(`${atMs} ms is ${phase}`, () => expect(phaseAt(timeline, atMs)).toBe(phase));
  }
});

describe("measuredWindow", () => {
  const timeline = planTimeline(BASE);
  const cases: [string, number | null, { startMs: number; endMs: number; seconds: number }][] = [
    ["a run to the end", null, { startMs: 13_300, endMs: 17_300, seconds: 4 }],
    // Stopped early, only messages with the drain time (1.5 s) to arrive are judged.
    ["stopped inside the window", 15_300, { startMs: 13_300, endMs: 13_800, seconds: 0.5 }],
    ["stopped in the drain", 18_000, { startMs: 13_300, endMs: 16_500, seconds: 3.2 }],
    ["stopped after the drain", 19_000, { startMs: 13_300, endMs: 17_300, seconds: 4 }],
    ["stopped before the window", 11_000, { startMs: 13_300, endMs: 13_300, seconds: 0 }],
  ];
  for (const [name, stoppedAtMs, expected] of cases) {
    it(name, () => expect(measuredWindow(timeline, stoppedAtMs)).toEqual(expected));
  }
});
