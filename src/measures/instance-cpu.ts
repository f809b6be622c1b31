/**
 * Each server instance's CPU, sampled by the parent while the clients run:
 * the probe of the instance-spread measure (instance-spread.ts), which
 * divides it among the instances.
 */
import { sleep } from "../util/clock.js";

/**
 * CPU seconds one instance has used, from its own report. The one place
 * that reads per-instance CPU, so where it comes from can change alone.
 */
export async function readInstanceCpuSeconds(url: string): Promise<number | null> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await response.text();
    const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(text);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Samples each instance's CPU every `intervalMs` from start() to stop() and
 * adds up what it used: a killed instance keeps what it used until it died,
 * a restarted one (its counter starts again) adds the new process's share.
 */
export class InstanceCpuTracker {
  private readonly used: (number | null)[];
  private readonly last: (number | null)[];
  private running: Promise<void> | null = null;
  private stopped: Promise<(number | null)[]> | null = null;
  private readonly stopper = new AbortController();

  constructor(
    private readonly urls: readonly string[],
    private readonly intervalMs = 1000,
  ) {
    this.used = urls.map(() => null);
    this.last = urls.map(() => null);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Takes a last sample and returns CPU seconds per instance since start(). */
  stop(): Promise<(number | null)[]> {
    this.stopped ??= (async () => {
      this.stopper.abort();
      await this.running;
      await this.sampleAll();
      return [...this.used];
    })();
    return this.stopped;
  }

  private async loop(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      await this.sampleAll();
      await sleep(this.intervalMs, this.stopper.signal);
    }
  }

  private async sampleAll(): Promise<void> {
    const samples = await Promise.all(this.urls.map(readInstanceCpuSeconds));
    samples.forEach((cpu, i) => {
      if (cpu === null) return;
      const last = this.last[i] ?? null;
      this.last[i] = cpu;
      if (last === null) {
        this.used[i] ??= 0;
        return;
      }
      // A counter that went back belongs to a new process: all of it is new use.
      this.used[i] = (this.used[i] ?? 0) + (cpu >= last ? cpu - last : cpu);
    });
  }
}
