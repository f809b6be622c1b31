import { expect } from "vitest";
import type { RunResult } from "../../src/metrics/types.js";

/**
 * What a clean run against a real target shows on every transport: every
 * client connected, every publish acknowledged and delivered once to each
 * subscriber of its channel, nothing unreadable, and the server's own CPU
 * sampled from /proc (rtbench started it).
 */
export function expectEverythingDelivered(
  result: RunResult,
  {
    clients,
    perChannel,
    minPublished,
  }: { clients: number; perChannel: number; minPublished: number },
): void {
  expect(result.error).toBeUndefined();
  for (const [name, p] of Object.entries(result.protocols)) {
    expect(p.connected, name).toBe(clients);
    expect(p.published, name).toBeGreaterThanOrEqual(minPublished);
    expect(p.publishFailed, name).toBe(0);
    expect(p.expected, name).toBe(p.published * perChannel);
    expect(p.delivered, name).toBe(p.expected);
    expect(p.lost, name).toBe(0);
    expect(p.duplicates, name).toBe(0);
    expect(p.unrecognisedFrames, name).toBe(0);
    // Sampled (a number, not n/a). Not "above 0": /proc counts CPU in 10 ms ticks,
    // and nginx spends less than one tick on the ~500 deliveries of these runs.
    expect(p.server.cpuSecondsPer1kDeliveries, name).toBeTypeOf("number");
    expect(p.server.cpuSecondsPer1kDeliveries, name).toBeGreaterThanOrEqual(0);
  }
}
