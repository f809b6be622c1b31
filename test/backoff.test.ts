import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../src/load/fleet/backoff.js";
import type { ReconnectPolicy } from "../src/scenario/types.js";
import { seededRandom } from "../src/util/random.js";

const policy: ReconnectPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: "none",
  maxRetries: 20,
  resume: true,
  watchdogIntervals: 3,
  honorServerRetry: true,
};

describe("reconnect backoff", () => {
  it("doubles from the initial delay up to the cap without jitter", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(policy, n, Math.random));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it("starts from the server's retry value when given one", () => {
    expect(backoffDelayMs(policy, 1, Math.random, 2000)).toBe(2000);
    expect(backoffDelayMs(policy, 2, Math.random, 2000)).toBe(4000);
  });

  it("full jitter stays in [0, delay] and spreads the herd; equal jitter in [delay/2, delay]", () => {
    const random = seededRandom(7);
    const full = Array.from({ length: 2000 }, () =>
      backoffDelayMs({ ...policy, jitter: "full" }, 3, random),
    );
    expect(Math.min(...full)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...full)).toBeLessThanOrEqual(2000);
    // Uniform: about a quarter of the herd in each quarter of the window.
    const firstQuarter = full.filter((d) => d < 500).length / full.length;
    expect(firstQuarter).toBeGreaterThan(0.2);
    expect(firstQuarter).toBeLessThan(0.3);
    const equal = Array.from({ length: 2000 }, () =>
      backoffDelayMs({ ...policy, jitter: "equal" }, 3, random),
    );
    expect(Math.min(...equal)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...equal)).toBeLessThanOrEqual(2000);
  });
});
