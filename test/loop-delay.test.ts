import { describe, expect, it } from "vitest";
import { startLoopDelayMonitor } from "../src/metrics/loop-delay.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the point is to stall the event loop
  }
}

describe("loop delay monitor", () => {
  it("sees a stalled event loop, and reset forgets it", async () => {
    const monitor = startLoopDelayMonitor();
    try {
      expect(monitor.p99Ms()).toBeGreaterThanOrEqual(0);
      for (let i = 0; i < 3; i++) {
        await sleep(20);
        blockFor(120);
      }
      await sleep(30);
      // A 120 ms stall delays the next sample by at least about that much, however busy the machine.
      expect(monitor.p99Ms()).toBeGreaterThan(60);
      monitor.reset();
      expect(monitor.p99Ms()).toBe(0);
    } finally {
      monitor.stop();
    }
  });
});
