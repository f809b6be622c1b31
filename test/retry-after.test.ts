import { describe, expect, it } from "vitest";
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  refusalWaitFromHead,
  refusalWaitMs,
} from "../src/clients/retry-after.js";
import { ADMISSION_JITTER, admissionDelayMs } from "../src/load/backoff.js";

describe("Retry-After", () => {
  const now = Date.parse("2026-12-07T06:00:00Z");

  it("reads delay-seconds and HTTP-dates, caps long waits, ignores what it cannot read", () => {
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Mon, 07 Dec 2026 06:00:12 GMT", now)).toBe(12_000);
    // A date in the past: come back now.
    expect(parseRetryAfter("Mon, 07 Dec 2026 05:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("86400", now)).toBe(MAX_RETRY_AFTER_MS);
    for (const bad of [undefined, "", "-5", "1.5", "soon"]) {
      expect(parseRetryAfter(bad, now), String(bad)).toBeUndefined();
    }
  });

  it("counts only for a 503 or 429", () => {
    expect(refusalWaitMs(503, "3")).toBe(3000);
    expect(refusalWaitMs(429, "3")).toBe(3000);
    expect(refusalWaitMs(500, "3")).toBeUndefined();
    expect(refusalWaitMs(503, undefined)).toBeUndefined();
    expect(refusalWaitFromHead(503, "content-type: application/json\r\nRetry-After: 9")).toBe(9000);
    expect(refusalWaitFromHead(200, "retry-after: 9")).toBeUndefined();
  });

  it("is waited in full, with up to ADMISSION_JITTER more", () => {
    expect(admissionDelayMs(4000, () => 0)).toBe(4000);
    expect(admissionDelayMs(4000, () => 0.999_999)).toBeCloseTo(4000 * (1 + ADMISSION_JITTER), 1);
  });
});
