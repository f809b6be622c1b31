import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findExcessNesting } from "../reference-server/json-depth.js";

/** The oracle: nesting depth of a parsed JSON value, by recursion (fine at these sizes). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === "object" && value !== null) {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 0;
}

const bytes = (text: string) => Buffer.from(text, "utf8");

/** Depth found by the scanner: the smallest limit it accepts. */
function scannedDepth(text: string): number {
  const buffer = bytes(text);
  let depth = 0;
  while (findExcessNesting(buffer, depth) !== -1) depth++;
  return depth;
}

/** JSON text for `value` with spacing (and escapes, from the strings) in it. */
const jsonText = fc
  .tuple(fc.jsonValue({ maxDepth: 12 }), fc.constantFrom(undefined, 1, "\t"))
  .map(([value, space]) => JSON.stringify(value, null, space));

describe("findExcessNesting", () => {
  it("finds exactly the depth JSON.parse sees, for any JSON text", () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(scannedDepth(text)).toBe(depthOf(JSON.parse(text)));
      }),
      { seed: 14, numRuns: 2000 },
    );
  });

  it("agrees with JSON.parse on arbitrary text that happens to parse, and never throws", () => {
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'[]{}"\\,:1 a') }),
      fc.string({ unit: "grapheme" }),
    );
    fc.assert(
      fc.property(text, (candidate) => {
        const depth = scannedDepth(candidate);
        let parsed: unknown;
        try {
          parsed = JSON.parse(candidate);
        } catch {
          return;
        }
        expect(depth).toBe(depthOf(parsed));
      }),
      { seed: 14, numRuns: 3000 },
    );
  });

  it("is not fooled by brackets and escaped quotes inside strings", () => {
    const text = JSON.stringify({ a: '[[[{"\\"]]]', b: ["\\", '"[', { c: "}}}" }] });
    expect(scannedDepth(text)).toBe(3);
    expect(findExcessNesting(bytes(`"${"[".repeat(100)}"`), 1)).toBe(-1);
    // A string ending in an escaped backslash closes normally.
    expect(scannedDepth('["\\\\", [1]]')).toBe(2);
  });

  it("reports where the limit is first exceeded", () => {
    expect(findExcessNesting(bytes('{"a":[[1]]}'), 2)).toBe(6);
    expect(findExcessNesting(bytes('{"a":[[1]]}'), 3)).toBe(-1);
    expect(findExcessNesting(bytes("[".repeat(5000)), 64)).toBe(64);
  });
});
