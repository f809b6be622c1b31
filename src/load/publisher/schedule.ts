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
  const spanMs = schedule.endMs - schedule.startMs;
  if (spanMs <= 0 || schedule.ratePerSec <= 0) return 0;
  // With fractional clock readings the span's arithmetic and the due times'
  // round differently: endMs - startMs can come out a hair over a whole number
  // of intervals while the last message is due at endMs itself, or come out
  // whole while startMs + i * interval rounds to just before endMs. The due
  // time the publisher uses decides.
  const estimate = Math.ceil((spanMs * schedule.ratePerSec) / 1000);
  if (scheduledMessage(schedule, estimate - 1).dueMs >= schedule.endMs) return estimate - 1;
  if (scheduledMessage(schedule, estimate).dueMs < schedule.endMs) return estimate + 1;
  return estimate;
}

export function scheduledMessage(schedule: Schedule, index: number): ScheduledMessage {
  const channelIndex = index % schedule.channels;
  return {
    index,
    channelIndex,
    seq: Math.floor(index / schedule.channels) + 1,
    dueMs: schedule.startMs + (index * 1000) / schedule.ratePerSec,
  };
}

/** Indexes of the messages due at or before `nowMs`, from `nextIndex` on. */
export function dueRange(schedule: Schedule, nextIndex: number, nowMs: number): [number, number] {
  const total = scheduleLength(schedule);
  if (nowMs < schedule.startMs) return [nextIndex, nextIndex];
  const dueCount = Math.floor(((nowMs - schedule.startMs) * schedule.ratePerSec) / 1000) + 1;
  return [nextIndex, Math.min(total, Math.max(nextIndex, dueCount))];
}
