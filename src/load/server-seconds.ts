import type { BoundarySamples, InstanceSample } from "../run-model/server-sample.js";
import { BUCKET_MS, bucketCount } from "../run-model/timeline.js";
import { monoMs, sleepUntil } from "../util/clock.js";
import { processAlive, sampleProcessGroups } from "../util/proc.js";
import type { ServerSet } from "./servers.js";

/**
 * Reads one instance's CPU and memory now; null when it cannot (the
 * instance is down, or /proc cannot be read). The per-second series take
 * any source that fits.
 */
export type InstanceSampler = (instance: number) => Promise<InstanceSample | null>;

/**
 * The sampler over /proc: each instance's current process group, the same
 * reading for every server rtbench started (util/proc.ts). An instance
 * whose leader is gone is down: null, not zeros. The instances of one
 * boundary share one scan of /proc rather than one scan each.
 */
export function groupSampler(servers: Pick<ServerSet, "instances">): InstanceSampler {
  const read = groupReader(servers);
  return async (instance) => read(instance);
}

/**
 * groupSampler's reading, synchronous: what the load monitor reads each
 * second too, so the busiest-CPU figures and the saturation verdict see the
 * same processes as the cost rows (a command's whole tree, not its shell).
 */
export function groupReader(
  servers: Pick<ServerSet, "instances">,
): (instance: number) => InstanceSample | null {
  let scan: { atMs: number; samples: ReturnType<typeof sampleProcessGroups> } | null = null;
  return (instance) => {
    const group = servers.instances[instance]?.pid;
    if (group === undefined || !processAlive(group)) return null;
    if (scan === null || monoMs() - scan.atMs > SHARED_SCAN_MS) {
      scan = {
        atMs: monoMs(),
        samples: sampleProcessGroups(servers.instances.map((handle) => handle.pid)),
      };
    }
    const sample = scan.samples?.get(group);
    if (sample === undefined) return null;
    return { pid: group, cpuSeconds: sample.cpuSeconds, rssBytes: sample.rssBytes };
  };
}

/** Samples asked for within this long of a scan are read from it (one boundary's instances). */
const SHARED_SCAN_MS = 100;

/** A sample not back by then is missing: a stalled instance must not hold up the next second. */
const SAMPLE_DEADLINE_MS = 900;

export interface ServerSeconds {
  /** Resolves after the sample at `endMs` (or at once on abort): `[instance][boundary]`. */
  done: Promise<BoundarySamples>;
}

export function sampleServerSeconds(options: {
  startMs: number;
  endMs: number;
  instances: number;
  sample: InstanceSampler;
  signal: AbortSignal;
}): ServerSeconds {
  const { startMs, endMs, instances, sample, signal } = options;
  const boundaries = bucketCount(startMs, endMs) + 1;
  const samples: BoundarySamples = Array.from({ length: instances }, () =>
    new Array<InstanceSample | null>(boundaries).fill(null),
  );
  const run = async () => {
    for (let k = 0; k < boundaries && !signal.aborted; k++) {
      await sleepUntil(Math.min(startMs + k * BUCKET_MS, endMs), signal);
      if (signal.aborted) break;
      const taken = await Promise.all(
        Array.from({ length: instances }, (_, i) => withDeadline(sample(i), SAMPLE_DEADLINE_MS)),
      );
      taken.forEach((s, i) => {
        (samples[i] as (InstanceSample | null)[])[k] = s;
      });
    }
    return samples;
  };
  return { done: run() };
}

function withDeadline<T>(promise: Promise<T | null>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

/**
 * CPU milliseconds each instance used in each second, from boundary samples:
 * the growth of its CPU counter between the two. When the process changed
 * (a restart), the new one's whole counter belongs to that second: it
 * started after the previous sample. Null where a sample is missing.
 */
export function cpuMsPerSecond(samples: readonly (InstanceSample | null)[]): (number | null)[] {
  const seconds: (number | null)[] = [];
  for (let i = 0; i + 1 < samples.length; i++) {
    const before = samples[i] ?? null;
    const after = samples[i + 1] ?? null;
    seconds.push(after === null ? null : cpuMsBetween(before, after, samples.slice(0, i)));
  }
  return seconds;
}

function cpuMsBetween(
  before: InstanceSample | null,
  after: InstanceSample,
  earlier: readonly (InstanceSample | null)[],
): number | null {
  if (before !== null) {
    const sameProcess = before.pid === after.pid && after.cpuSeconds >= before.cpuSeconds;
    return round1((sameProcess ? after.cpuSeconds - before.cpuSeconds : after.cpuSeconds) * 1000);
  }
  // No sample just before: only a process other than the one sampled earlier is known to
  // have started since (a kill, then a restart).
  const isNew =
    after.pid !== null &&
    earlier.some((s) => s !== null) &&
    !earlier.some((s) => s?.pid === after.pid);
  return isNew ? round1(after.cpuSeconds * 1000) : null;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
