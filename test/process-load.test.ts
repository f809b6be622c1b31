import { describe, expect, it } from "vitest";
import { type CpuReading, LoadRecorder, procStatCpuMs } from "../src/metrics/process-load.js";

/** CPU share per second and over the window, from any reader, on a manual clock. */
describe("LoadRecorder", () => {
  it("turns CPU time into a share of one core, and forgets a restarted process", () => {
    let nowMs = 0;
    let reading: CpuReading = { id: 1, cpuMs: 0 };
    const recorder = new LoadRecorder(
      () => reading,
      () => nowMs,
      false,
    );
    const step = (cpuMs: number, id = reading.id) => {
      nowMs += 1000;
      reading = { id, cpuMs: reading.id === id ? reading.cpuMs + cpuMs : cpuMs };
      recorder.tick();
    };
    step(500); // before the window
    recorder.markWindowStart();
    step(900);
    step(300);
    recorder.markWindowEnd();
    step(100);
    const summary = recorder.summary("server", "server instance 0");
    expect(summary.perSecond).toEqual([0.5, 0.9, 0.3, 0.1]);
    expect(summary.cpuShare).toBeCloseTo(0.6, 9);
    expect(summary.peakCpuShare).toBe(0.9);
    expect(summary.eventLoopUtilization).toBeNull();

    // A new PID mid-window: that second and the window's share are unknown.
    recorder.markWindowStart();
    step(400, 2);
    step(200);
    recorder.markWindowEnd();
    const restarted = recorder.summary("server", "server instance 0");
    expect(restarted.perSecond.slice(-2)).toEqual([null, 0.2]);
    expect(restarted.cpuShare).toBeNull();
  });

  it("reads a process's CPU time from /proc, close to what the process says itself", () => {
    const end = Date.now() + 50;
    while (Date.now() < end) {
      // burn a little CPU so there is something to read
    }
    const fromProc = procStatCpuMs(process.pid);
    const usage = process.cpuUsage();
    const own = (usage.user + usage.system) / 1000;
    expect(fromProc).not.toBeNull();
    // /proc counts in 10 ms ticks.
    expect(Math.abs((fromProc as number) - own)).toBeLessThan(50);
    expect(procStatCpuMs(2 ** 22 + 1)).toBeNull();
  });
});
