import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findMetric } from "../src/measures/names.js";
import {
  COUNTER_NAMES,
  COUNTERS,
  type Counters,
  counterInfo,
  resultCounters,
  sumCounters,
  zeroCounters,
} from "../src/metrics/counters.js";
import { formatNumber } from "../src/report/numbers.js";
import { reportRows } from "../src/report/rows.js";
import { makeProtocolResult } from "./helpers/result-fixture.js";

/** Counters with distinct values: counter i is (i + 1) * scale. */
function counting(scale: number): Counters {
  const counters = zeroCounters();
  COUNTER_NAMES.forEach((name, i) => {
    counters[name] = (i + 1) * scale;
  });
  return counters;
}

const schema = JSON.parse(readFileSync("schema/result.schema.json", "utf8")) as {
  definitions: { protocol: { properties: Record<string, { type?: unknown }> } };
};

describe("fleet counters, one definition", () => {
  it("starts at zero and sums counter by counter", () => {
    expect(Object.values(zeroCounters())).toEqual(COUNTER_NAMES.map(() => 0));
    const total = sumCounters([counting(1), counting(10), counting(100)]);
    COUNTER_NAMES.forEach((name, i) => {
      expect(total[name], name).toBe((i + 1) * 111);
    });
    expect(sumCounters([])).toEqual(zeroCounters());
  });

  it("gives the result exactly the counters the result schema lists", () => {
    const inResult = Object.keys(resultCounters(counting(1)));
    expect(inResult).toEqual(COUNTER_NAMES.filter((name) => COUNTERS[name].inResult));
    for (const name of COUNTER_NAMES) {
      const property = schema.definitions.protocol.properties[name];
      if (COUNTERS[name].inResult) expect(property?.type, name).toBe("integer");
      else expect(property, name).toBeUndefined();
    }
  });

  it("gives every counter in the result a metric name with its kind, direction and description", () => {
    for (const name of COUNTER_NAMES.filter((n) => COUNTERS[n].inResult)) {
      const { kind, better, description } = COUNTERS[name];
      expect(findMetric(name), name).toEqual({
        path: name,
        unit: "count",
        kind,
        better,
        description,
      });
    }
  });

  it("puts every counter that has a row in the table once, formatted as its definition says", () => {
    const result = makeProtocolResult("websocket", {
      overrides: resultCounters(counting(12_345)),
    });
    for (const name of COUNTER_NAMES) {
      const { row } = counterInfo(name);
      if (row === undefined) continue;
      const rows = reportRows().filter((r) => r.label === row.label);
      expect(rows, name).toHaveLength(1);
      const value = (result as unknown as Record<string, number>)[name] as number;
      const cell = rows[0]?.cell(result);
      // Exact counts print every digit; the others compactly ("74.1k").
      expect(cell, name).toBe(row.exact ? String(value) : formatNumber(value));
    }
  });
});
