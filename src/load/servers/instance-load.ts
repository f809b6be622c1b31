/**
 * How the load spreads over the server instances: per instance the clients
 * connected, the deliveries made through it and the CPU seconds it spent,
 * and the imbalance of each (max / mean): 1 is perfectly even, and a sticky
 * router's hot instance shows as a number well above it.
 */
import type { Imbalance, InstanceLoad } from "../../metrics/types.js";
import { sleep } from "../../util/clock.js";

/** max / mean over the instances; null for one instance, a missing value or nothing at all. */
export function imbalanceOf(values: readonly (number | null)[]): number | null {
  if (values.length < 2 || values.some((v) => v === null)) return null;
  const numbers = values as number[];
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  return mean > 0 ? Math.max(...numbers) / mean : null;
}

export function imbalance(load: InstanceLoad): Imbalance {
  return {
    connections: imbalanceOf(load.connections),
    deliveries: imbalanceOf(load.deliveries),
    cpuSeconds: imbalanceOf(load.cpuSeconds),
  };
}

/** Sums per-instance arrays from several shards. */
export function sumByInstance(parts: readonly (readonly number[])[], instances: number): number[] {
  const total = Array.from({ length: instances }, () => 0);
  for (const part of parts) {
    part.forEach((n, i) => {
      total[i] = (total[i] ?? 0) + n;
    });
  }
  return total;
}

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
