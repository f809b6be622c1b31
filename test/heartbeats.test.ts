import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LiveConnection } from "../reference-server/context.js";
import { sliceCount, startHeartbeats } from "../reference-server/heartbeats.js";

/** A connection that only records when it was asked for a heartbeat (the scheduler under test is pure timing). */
class Recorder implements LiveConnection {
  readonly beats: number[] = [];
  heartbeat(): void {
    this.beats.push(Date.now());
  }
  shutdown(): void {}
  drop(): void {}
}

describe("heartbeat scheduler", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("visits every connection once per interval, a slice per tick, never all at once", () => {
    const intervalMs = 1000;
    const slices = sliceCount(intervalMs);
    expect(slices).toBe(10);
    const sse = new Set<Recorder>();
    const ws = new Set<Recorder>();
    for (let i = 0; i < 600; i++) (i % 2 ? sse : ws).add(new Recorder());
    const scheduler = startHeartbeats(() => [sse, ws], intervalMs);
    const perTick: number[] = [];
    let total = 0;
    for (let tick = 0; tick < 3 * slices; tick++) {
      vi.advanceTimersByTime(intervalMs / slices);
      const now = [...sse, ...ws].reduce((sum, c) => sum + c.beats.length, 0);
      perTick.push(now - total);
      total = now;
    }
    scheduler.stop();
    // 600 connections, 10 ticks per interval: 60 a tick.
    expect(Math.max(...perTick)).toBe(60);
    expect(Math.min(...perTick)).toBe(60);
    for (const connection of [...sse, ...ws]) {
      expect(connection.beats.length).toBe(3);
      // Always the same slice: exactly one interval apart.
      expect((connection.beats[1] as number) - (connection.beats[0] as number)).toBe(intervalMs);
      expect((connection.beats[2] as number) - (connection.beats[1] as number)).toBe(intervalMs);
    }
  });

  it("skips connections that left and picks up newcomers within two intervals", () => {
    const live = new Set<Recorder>();
    const leaving = new Recorder();
    live.add(leaving);
    const scheduler = startHeartbeats(() => [live], 1000);
    vi.advanceTimersByTime(50);
    live.delete(leaving);
    const newcomer = new Recorder();
    live.add(newcomer);
    vi.advanceTimersByTime(2000);
    scheduler.stop();
    expect(leaving.beats).toEqual([]);
    expect(newcomer.beats.length).toBeGreaterThanOrEqual(1);
    expect((newcomer.beats[0] as number) - 50).toBeLessThanOrEqual(2000);
  });

  it("stops", () => {
    const connection = new Recorder();
    const scheduler = startHeartbeats(() => [new Set([connection])], 100);
    scheduler.stop();
    vi.advanceTimersByTime(1000);
    expect(connection.beats).toEqual([]);
  });
});
