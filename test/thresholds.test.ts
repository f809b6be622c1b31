import { describe, expect, it } from "vitest";
import { evaluateThresholds } from "../src/gate/thresholds.js";
import { getMetric, listMetrics } from "../src/measures/names.js";
import { parseThresholds, validateThresholds } from "../src/scenario/thresholds.js";
import { RtbenchError } from "../src/shared/errors.js";
import { makeResult } from "./helpers/result-fixture.js";

describe("threshold parser", () => {
  const good: [string, string, string, number][] = [
    ["websocket.latency.p99", "< 50ms", "<", 50],
    ["websocket.latency.p99", "<= 0.5s", "<=", 500],
    ["websocket.latency.p99", "< 800us", "<", 0.8],
    ["sse.lost", "== 0", "==", 0],
    ["sse.duplicates", "!= 0", "!=", 0],
    ["websocket.deliveriesPerSec", "> 100", ">", 100],
    ["websocket.deliveriesPerSec", ">= 100/s", ">=", 100],
    ["short-poll.emptyPollShare", "< 5%", "<", 0.05],
    ["short-poll.emptyPollShare", "< 0.05", "<", 0.05],
    ["sse.bytesPerDelivery", "< 2KB", "<", 2000],
    ["sse.server.rssBytesPerConnection", "< 16KiB", "<", 16_384],
    ["sse.server.cpuSecondsPer1kDeliveries", "< 50ms", "<", 0.05],
    ["*.lost", "==0", "==", 0],
  ];
  it.each(good)("%s: %s", (key, text, op, value) => {
    const [parsed] = parseThresholds({ [key]: text });
    expect(parsed?.conditions).toHaveLength(1);
    expect(parsed?.conditions[0]?.op).toBe(op);
    expect(parsed?.conditions[0]?.value).toBeCloseTo(value, 9);
  });

  const bad: [string, unknown, string][] = [
    [
      "websocket.latncy.p99",
      "< 50ms",
      'thresholds."websocket.latncy.p99": unknown metric (see `rtbench metrics`)',
    ],
    [
      "sse.lost",
      "zero",
      'thresholds."sse.lost": expected a condition like "< 50ms" or "== 0", found "zero"',
    ],
    ["sse.lost", "< 5ms", 'thresholds."sse.lost": "ms" is a duration but sse.lost is in count'],
    ["sse.lost", "< 5%", 'thresholds."sse.lost": "%" is a percentage but sse.lost is in count'],
    [
      "sse.latency.p99",
      "< 5KB",
      'thresholds."sse.latency.p99": "KB" is a size but sse.latency.p99 is in ms',
    ],
    ["sse.latency.p99", "< 5 parsecs", '"parsecs" is an unknown unit'],
    ["sse.latency.p99", "50ms", "expected a condition like"],
    [
      "sse.latency.p99",
      "< 1",
      'thresholds."sse.latency.p99": "< 1" has no unit but sse.latency.p99 is a time; expected a number with one of us, µs, ms, s, m, like "< 50ms"',
    ],
    ["sse.server.cpuSecondsPer1kDeliveries", "< 0.05", '"< 0.05" has no unit'],
    [
      "websockets.lost",
      "== 0",
      'thresholds."websockets.lost": unknown protocol "websockets"; expected one of short-poll, long-poll, sse, sse-h2, websocket',
    ],
    ["sse.lost", 0, 'thresholds."sse.lost": expected a condition like "< 50ms" or "== 0", found 0'],
    ["sse.lost", ["== 0", "lots"], 'thresholds."sse.lost"[1]: expected a condition'],
  ];
  it.each(bad)("rejects %s: %j", (key, condition, message) => {
    const problems = validateThresholds({ [key]: condition });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it("collects every problem at once and throws BAD_INPUT listing them", () => {
    const map = { "sse.lost": "zero", "x.latency.p99": "< 1ms", "sse.latency.p99": "< 1ms" };
    expect(validateThresholds(map)).toHaveLength(2);
    try {
      parseThresholds(map);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RtbenchError);
      expect((error as RtbenchError).code).toBe("BAD_INPUT");
      expect((error as RtbenchError).details).toHaveLength(2);
    }
  });

  it("accepts every documented metric name", () => {
    const map = Object.fromEntries(
      listMetrics().map((m) => [
        `websocket.${m.path}`,
        m.unit === "ms" ? ">= 0ms" : m.unit === "cpu-s" ? ">= 0s" : ">= 0",
      ]),
    );
    expect(validateThresholds(map)).toEqual([]);
  });
});

describe("evaluateThresholds", () => {
  const result = makeResult({
    protocols: {
      "short-poll": { overrides: { lost: 3 } },
      websocket: {},
    },
  });

  it("passes and fails on the measured numbers", () => {
    const p99 = getMetric(result, "websocket.latency.p99") as number;
    const outcomes = evaluateThresholds(
      {
        "websocket.latency.p99": [`<= ${p99}ms`, `< ${p99}ms`],
        "short-poll.lost": "== 0",
      },
      result,
    );
    expect(outcomes.map((o) => [o.metric, o.pass])).toEqual([
      ["websocket.latency.p99", true],
      ["websocket.latency.p99", false],
      ["short-poll.lost", false],
    ]);
    expect(outcomes[2]?.actual).toBe(3);
  });

  it("expands * to every protocol in the result and skips n/a metrics", () => {
    const lost = evaluateThresholds({ "*.lost": "== 0" }, result);
    expect(lost.map((o) => [o.metric, o.pass])).toEqual([
      ["short-poll.lost", false],
      ["websocket.lost", true],
    ]);
    // emptyPollShare is null for WebSocket: not applicable, so only short poll is judged.
    const empty = evaluateThresholds({ "*.emptyPollShare": "< 50%" }, result);
    expect(empty.map((o) => o.metric)).toEqual(["short-poll.emptyPollShare"]);
    expect(empty[0]?.pass).toBe(true);
  });

  it("fails a threshold on a protocol that was not run as not measured", () => {
    const [outcome] = evaluateThresholds({ "sse.latency.p99": "< 1s" }, result);
    expect(outcome).toMatchObject({
      metric: "sse.latency.p99",
      pass: false,
      actual: null,
      note: "not measured",
    });
    const [na] = evaluateThresholds({ "websocket.emptyPollShare": "< 5%" }, result);
    expect(na).toMatchObject({ pass: false, note: "not measured" });
  });
});
