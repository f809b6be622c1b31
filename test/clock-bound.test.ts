import { describe, expect, it } from "vitest";
import { evaluateThresholds } from "../src/gate/thresholds.js";
import { ClockFilter, estimateFrom } from "../src/load/workers/clock-sync.js";
import { clockResult } from "../src/measures/workers.js";
import { renderTable } from "../src/report/table.js";
import { makeResult } from "./helpers/result-fixture.js";

describe("a clock exchange", () => {
  it("is off by at most half its round trip, however the trip splits", () => {
    // The worker's clock is 250 ms ahead of the coordinator's: the true offset is -250.
    const skew = 250;
    for (const [outMs, backMs] of [
      [0.1, 0.1],
      [0.01, 3],
      [3, 0.01],
    ] as const) {
      const t0 = 1000 + skew;
      const t1 = 1000 + outMs;
      const t3 = t1 + backMs + skew;
      const e = estimateFrom({ t0, t1, t3 });
      expect(e.boundMs).toBeCloseTo((outMs + backMs) / 2, 9);
      expect(Math.abs(e.offsetMs - -skew)).toBeLessThanOrEqual(e.boundMs + 1e-9);
    }
  });

  it("the filter keeps the shortest round trip of the recent ones", () => {
    const filter = new ClockFilter();
    filter.add({ t0: 0, t1: 10, t3: 8 });
    filter.add({ t0: 10, t1: 15, t3: 11 });
    filter.add({ t0: 20, t1: 30, t3: 26 });
    expect(filter.best()).toEqual({ offsetMs: 4.5, boundMs: 0.5, rttMs: 1 });
  });
});

describe("a bound above workers.maxClockBound", () => {
  const clock = clockResult(
    [
      { worker: "worker 0", offsetMs: 0.1, boundMs: 0.4 },
      { worker: "worker 1", offsetMs: -250, boundMs: 3.1 },
    ],
    2,
  );
  const result = makeResult({ protocols: { websocket: { overrides: { clock } } } });

  it("names the worker and its bound", () => {
    expect(clock.boundMs).toBe(3.1);
    expect(clock.unreliable).toBe(
      "clock offset bound above workers.maxClockBound 2 ms: worker 1 ±3.10 ms",
    );
    expect(clockResult([{ worker: "worker 0", offsetMs: 0, boundMs: 0.4 }], 2).unreliable).toBe(
      undefined,
    );
  });

  it("fails latency thresholds as unreliable; loss and connect stay judged", () => {
    const outcomes = evaluateThresholds(
      {
        "websocket.latency.p99": "< 1000ms",
        "websocket.lost": "== 0",
        "websocket.connect.p99": "< 1000ms",
      },
      result,
    );
    const byMetric = Object.fromEntries(outcomes.map((o) => [o.metric, o]));
    expect(byMetric["websocket.latency.p99"]?.pass).toBe(false);
    expect(byMetric["websocket.latency.p99"]?.note).toContain("unreliable: clock offset bound");
    expect(byMetric["websocket.lost"]?.pass).toBe(true);
    expect(byMetric["websocket.connect.p99"]?.pass).toBe(true);
  });

  it("shows the bound beside every one-way latency figure, and says why it is unreliable", () => {
    const table = renderTable(result);
    expect(table).toMatch(/latency p99 ms +[0-9.]+ ±3\.1\?\n/);
    expect(table).toMatch(/latency from send p99 ms +[0-9.]+ ±3\.1\?\n/);
    expect(table).toMatch(/connect p99 ms +[0-9.]+\n/);
    expect(table).toContain(
      "UNRELIABLE latency on WebSocket (figures marked ?): clock offset bound",
    );
  });
});
