import { interruptedWindow } from "./interrupt.js";

/**
 * The timeline of one protocol's run, in monotonic ms (util/clock.ts):
 *
 *   plan ─ startDelay ─ rampStart ─ rampUp ─ publishStart ─ warmup ─ measureStart
 *        ─ (duration - warmup) ─ measureEnd ─ drain ─ drainEnd
 *
 * Warmup is the first part of `duration`: publishing runs for all of
 * `duration`, measurement skips its start. Faults count from the start of
 * ramp-up, as the scenario's `at` does. Pure: every time is computed here.
 */
export interface TimelineInput {
  /** When the plan is made. */
  nowMs: number;
  /** Time for every shard to have the plan before the first client connects. */
  startDelayMs: number;
  rampUpMs: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
  /** Each fault's `at`, in the scenario's order. */
  faultsAtMs: readonly number[];
}

export interface Timeline {
  rampStartMs: number;
  publishStartMs: number;
  /** End of warmup: messages scheduled from here on are measured. */
  measureStartMs: number;
  /** Publishing stops here. */
  measureEndMs: number;
  /** Clients are stopped and report here. */
  drainEndMs: number;
  /** Ramp start to drain end. */
  totalMs: number;
  /** When each fault fires, in the input's order. */
  faultsMs: number[];
}

export function planTimeline(input: TimelineInput): Timeline {
  const rampStartMs = input.nowMs + input.startDelayMs;
  const publishStartMs = rampStartMs + input.rampUpMs;
  const measureStartMs = publishStartMs + input.warmupMs;
  const measureEndMs = publishStartMs + input.durationMs;
  const drainEndMs = measureEndMs + input.drainMs;
  return {
    rampStartMs,
    publishStartMs,
    measureStartMs,
    measureEndMs,
    drainEndMs,
    totalMs: drainEndMs - rampStartMs,
    faultsMs: input.faultsAtMs.map((atMs) => faultTimeMs(rampStartMs, atMs)),
  };
}

/** When a fault with `at: atMs` fires, for a run whose ramp-up starts at `rampStartMs`. */
export function faultTimeMs(rampStartMs: number, atMs: number): number {
  return rampStartMs + atMs;
}

export type RunPhase = "ramp-up" | "warmup" | "measuring" | "draining";

export function phaseAt(timeline: Timeline, nowMs: number): RunPhase {
  if (nowMs < timeline.publishStartMs) return "ramp-up";
  if (nowMs < timeline.measureStartMs) return "warmup";
  if (nowMs < timeline.measureEndMs) return "measuring";
  return "draining";
}

/**
 * The measured window. A run stopped early (`stoppedAtMs`) judges only the
 * messages that had the drain time to arrive before the stop; later ones are
 * in flight (`inFlightWindow`). `seconds` is 0 when nothing was judged.
 */
export function measuredWindow(
  timeline: Timeline,
  stoppedAtMs: number | null,
): { startMs: number; endMs: number; seconds: number } {
  const startMs = timeline.measureStartMs;
  const endMs = interruptedWindow(windowOf(timeline), stoppedAtMs).judgedEndMs;
  return { startMs, endMs, seconds: Math.max(0, endMs - startMs) / 1000 };
}

/**
 * Where the messages in flight at an interrupt were scheduled: after the
 * judged window, up to the stop. Null for a run that ran to the end.
 */
export function inFlightWindow(
  timeline: Timeline,
  stoppedAtMs: number | null,
): { startMs: number; endMs: number } | null {
  if (stoppedAtMs === null) return null;
  const { judgedEndMs, inFlightEndMs } = interruptedWindow(windowOf(timeline), stoppedAtMs);
  return { startMs: judgedEndMs, endMs: inFlightEndMs };
}

function windowOf(timeline: Timeline): { startMs: number; endMs: number; drainMs: number } {
  return {
    startMs: timeline.measureStartMs,
    endMs: timeline.measureEndMs,
    drainMs: timeline.drainEndMs - timeline.measureEndMs,
  };
}

/** A span of monotonic ms, start included, end excluded: the measured window, or a part of it. */
export interface Window {
  startMs: number;
  endMs: number;
}

/** Width of one timeline bucket. */
export const BUCKET_MS = 1000;

/** How many one-second buckets cover `[startMs, endMs)`; at least one. */
export function bucketCount(startMs: number, endMs: number): number {
  return Math.max(1, Math.ceil((endMs - startMs) / BUCKET_MS));
}
