/**
 * The publisher's arrival schedule: an open model at a fixed rate. Message i
 * is due at `startMs + i / rate` whatever happened to message i-1, so a slow
 * server shows up as latency instead of as fewer messages (no coordinated
 * omission). Channels take turns, so each channel gets `rate / channels`.
 */
export interface ScheduledMessage {
  /** Position in the whole schedule, from 0. */
  index: number;
  /** Index into the channel list. */
  channelIndex: number;
  /** Per-channel sequence number, from 1, gap-free. */
  seq: number;
  /** When it is due, monotonic ms. */
  dueMs: number;
}

export interface Schedule {
  startMs: number;
  ratePerSec: number;
  channels: number;
  /** Messages due strictly before this time are in the schedule. */
  endMs: number;
}

/** How many messages the schedule holds. */
export function scheduleLength(schedule: Schedule): number {
  if (!(schedule.endMs > schedule.startMs)) return 0;
  return countDue(schedule, schedule.endMs, false);
}

export function scheduledMessage(schedule: Schedule, index: number): ScheduledMessage {
  const channelIndex = index % schedule.channels;
  return {
    index,
    channelIndex,
    seq: Math.floor(index / schedule.channels) + 1,
    dueMs: dueAt(schedule, index),
  };
}

/** Indexes of the messages due at or before `nowMs`, from `nextIndex` on. */
export function dueRange(schedule: Schedule, nextIndex: number, nowMs: number): [number, number] {
  if (nowMs < schedule.startMs) return [nextIndex, nextIndex];
  const dueCount = countDue(schedule, nowMs, true);
  return [nextIndex, Math.min(scheduleLength(schedule), Math.max(nextIndex, dueCount))];
}

/** When message `index` is due: the one formula every count here is settled by. */
function dueAt(schedule: Schedule, index: number): number {
  return schedule.startMs + (index * 1000) / schedule.ratePerSec;
}

/**
 * How many messages are due before `tMs` (or at it too, when `inclusive`).
 * With fractional clock readings, (tMs - startMs) * rate and startMs + i /
 * rate round differently: the span can come out a hair over a whole number of
 * intervals while message i is due at tMs itself, or come out whole while
 * message i rounds to just before tMs. The arithmetic gives an estimate within
 * one; the due time the publisher sends settles it.
 */
function countDue(schedule: Schedule, tMs: number, inclusive: boolean): number {
  if (!(schedule.ratePerSec > 0) || tMs < schedule.startMs) return 0;
  const isDue = (index: number) => {
    const dueMs = dueAt(schedule, index);
    return inclusive ? dueMs <= tMs : dueMs < tMs;
  };
  const estimate = Math.floor(((tMs - schedule.startMs) * schedule.ratePerSec) / 1000);
  if (isDue(estimate)) return isDue(estimate + 1) ? estimate + 2 : estimate + 1;
  return estimate > 0 && !isDue(estimate - 1) ? estimate - 1 : estimate;
}
