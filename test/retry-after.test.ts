import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETRY_AFTER_MIN_S, RETRY_AFTER_SPREAD_S } from "../reference-server/admission.js";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { createClient } from "../src/clients/registry.js";
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  refusalWaitFromHead,
  refusalWaitMs,
} from "../src/clients/retry-after.js";
import { ADMISSION_JITTER, admissionDelayMs } from "../src/load/fleet/backoff.js";
import type { TransportSettings } from "../src/shared/transports.js";
import { clientOptions } from "./helpers/client-options.js";

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

describe("clients refused by a full reference server keep its Retry-After", () => {
  let server: RunningServer;
  beforeAll(async () => {
    // Every subscriber is one connection too many.
    server = await startReferenceServer({ maxConnections: 0 });
  });
  afterAll(() => server.close());

  const options = (settings: TransportSettings) => clientOptions(server.url, settings);

  for (const [name, make] of [
    ["sse (lean)", () => createClient("sse", options({ client: "lean" }))],
    ["sse (eventsource)", () => createClient("sse", options({ client: "eventsource" }))],
    ["sse-h2", () => createClient("sse-h2", options({ streamsPerConnection: 10 }))],
    ["websocket", () => createClient("websocket", options({}))],
    ["short-poll", () => createClient("short-poll", options({ intervalMs: 1000 }))],
    ["long-poll", () => createClient("long-poll", options({ timeoutMs: 1000 }))],
  ] as const) {
    it(name, async () => {
      const client = make();
      try {
        await expect(client.connect()).rejects.toThrow(/503/);
        // The reference server says 5 to 14 s.
        expect(client.retryAfterMs).toBeGreaterThanOrEqual(RETRY_AFTER_MIN_S * 1000);
        expect(client.retryAfterMs).toBeLessThan((RETRY_AFTER_MIN_S + RETRY_AFTER_SPREAD_S) * 1000);
      } finally {
        client.close();
      }
    });
  }
});
