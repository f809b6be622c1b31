import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DURATION_PATTERN,
  formatDuration,
  parseDuration,
  parseRate,
  RATE_PATTERN,
} from "../src/scenario/units.js";
import { packageRoot } from "../src/util/paths.js";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["0ms", 0],
    ["0s", 0],
    ["500ms", 500],
    ["1ms", 1],
    ["0.5ms", 0.5],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3s4ms", 3_723_004],
    ["5m500ms", 300_500],
    ["90s", 90_000],
    ["007s", 7_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "30",
    "00",
    "1.",
    ".5s",
    "-5s",
    "+5s",
    "30 s",
    " 30s",
    "30s ",
    "30S",
    "30sec",
    "1e3ms",
    "5d",
    "ms",
    "s",
    "30s1m",
    "1m1m",
    "1ms5s",
    "5mss",
    "Infinitys",
    "NaNms",
  ])("rejects %j, saying what it expected and found", (text) => {
    expect(() => parseDuration(text)).toThrow(
      `expected a duration like 500ms, 30s or 2m, found ${JSON.stringify(text)}`,
    );
  });

  it("rejects values that are not strings, such as a bare number", () => {
    expect(() => parseDuration(30 as unknown as string)).toThrow(/found 30$/);
  });
});

describe("parseRate", () => {
  it.each([
    ["20/s", 20],
    ["0/s", 0],
    ["0.5/s", 0.5],
    ["30/m", 0.5],
    ["1/m", 1 / 60],
    ["1000000/s", 1_000_000],
  ])("reads %j as %d per second", (text, perSec) => {
    expect(parseRate(text)).toBeCloseTo(perSec, 12);
  });

  it.each(["20", "20/sec", "20/h", "20 /s", "-1/s", ".5/s", "1e2/s", "/s", "20/S", "20/s/s", ""])(
    "rejects %j",
    (text) => {
      expect(() => parseRate(text)).toThrow(
        `expected a rate like 20/s, 0.5/s or 30/m, found ${JSON.stringify(text)}`,
      );
    },
  );
});

describe("formatDuration", () => {
  it.each([
    [0, "0"],
    [1, "1ms"],
    [0.25, "0.25ms"],
    [500, "500ms"],
    [1_000, "1s"],
    [1_500, "1s500ms"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [120_000, "2m"],
    [3_600_000, "1h"],
    [3_723_004, "1h2m3s4ms"],
    [86_400_000, "24h"],
  ])("writes %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (let ms = 0; ms < 5_000_000; ms += 7_919.5) {
      expect(parseDuration(formatDuration(ms))).toBeCloseTo(ms, 6);
    }
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("rejects %d", (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});

describe("the schema's patterns", () => {
  // Editors validate with the schema, rtbench with units.ts: they must agree.
  const schema = JSON.parse(
    readFileSync(join(packageRoot, "schema", "scenario.schema.json"), "utf8"),
  ) as { definitions: Record<string, { pattern?: string; anyOf?: { pattern?: string }[] }> };

  it("uses the same duration pattern as parseDuration", () => {
    expect(schema.definitions.duration?.anyOf?.[0]?.pattern).toBe(DURATION_PATTERN);
  });

  it("uses the same rate pattern as parseRate", () => {
    expect(schema.definitions.rate?.pattern).toBe(RATE_PATTERN);
  });
});
