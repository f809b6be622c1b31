import { readFileSync } from "node:fs";
import { type EventLoopUtilization, performance } from "node:perf_hooks";

/**
 * How busy a process is: CPU time as a share of one core, per second and over
 * the measured window, and (for rtbench's own processes) event-loop
 * utilisation. A process near a full core, or whose loop is never idle,
 * queues work, and that queueing shows up in every time it takes.
 *
 * Where the CPU time comes from is a `CpuReader`, so any sampler fits: the
 * process's own counters, /proc for a child, or another module's.
 */

/** A process's CPU time so far, user + system, ms; `id` changes when the process does (a restart). */
export interface CpuReading {
  id: number;
  cpuMs: number;
}

/** Reads a process's CPU time now; null when it cannot be read (the process is gone). */
export type CpuReader = () => CpuReading | null;

/** This process, from its own counters. */
export function ownCpu(): CpuReader {
  return () => {
    const usage = process.cpuUsage();
    return { id: process.pid, cpuMs: (usage.user + usage.system) / 1000 };
  };
}

/**
 * Linux counts CPU time in /proc in clock ticks of 1/100 s (USER_HZ, which
 * is 100 on every architecture Node runs on; `getconf CLK_TCK` says so).
 */
const MS_PER_TICK = 10;

/** utime + stime of /proc/<pid>/stat in ms; null when the process is gone or not on Linux. */
export function procStatCpuMs(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the name and state.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) * MS_PER_TICK;
}

/** One process's load, as a result carries it. */
export interface ProcessLoad {
  /** `publisher` is rtbench's parent process, which also runs the publisher. */
  role: "publisher" | "shard" | "server";
  name: string;
  /** CPU over the measured window as a share of one core (1 = a full core); null when unknown. */
  cpuShare: number | null;
  /** The busiest second of the window, same unit. */
  peakCpuShare: number | null;
  /** Share of the window the event loop was busy (0 to 1); null for processes not our own. */
  eventLoopUtilization: number | null;
  /** CPU share of each whole second from when sampling started (null: not known that second). */
  perSecond: (number | null)[];
}

/**
 * Samples one process's CPU every time `tick()` is called (once a second)
 * and between the window marks. A reading from a different process (a
 * restart) gives no share for that second and makes the window's unknown.
 */
/**
 * CPU time between two readings as a share of one core; null when the count
 * went down: a process group's sum drops when a member exits unreaped, and
 * that second's share is then unknown, not negative.
 */
function cpuShare(
  from: { reading: CpuReading; atMs: number },
  to: { reading: CpuReading; atMs: number },
): number | null {
  const usedMs = to.reading.cpuMs - from.reading.cpuMs;
  return usedMs >= 0 ? usedMs / (to.atMs - from.atMs) : null;
}

export class LoadRecorder {
  readonly perSecond: (number | null)[] = [];
  private last: { reading: CpuReading; atMs: number } | null = null;
  private windowStart: { reading: CpuReading; atMs: number; elu: EventLoopUtilization } | null =
    null;
  private windowEnd: { cpuShare: number | null; elu: number | null } | null = null;
  private windowSeconds: (number | null)[] = [];
  private inWindow = false;

  constructor(
    private readonly read: CpuReader,
    private readonly now: () => number,
    /** Whether the event loop measured is this process's (performance.eventLoopUtilization). */
    private readonly ownLoop: boolean,
  ) {
    this.last = this.take();
  }

  tick(): void {
    const current = this.take();
    const last = this.last;
    let share: number | null = null;
    if (current && last && current.reading.id === last.reading.id && current.atMs > last.atMs) {
      share = cpuShare(last, current);
    }
    this.perSecond.push(share);
    if (this.inWindow) this.windowSeconds.push(share);
    this.last = current;
  }

  markWindowStart(): void {
    const taken = this.take();
    this.inWindow = true;
    this.windowSeconds = [];
    this.windowStart = taken && { ...taken, elu: performance.eventLoopUtilization() };
  }

  markWindowEnd(): void {
    if (!this.inWindow) return;
    this.inWindow = false;
    const start = this.windowStart;
    const end = this.take();
    const sameProcess = start && end && start.reading.id === end.reading.id;
    this.windowEnd = {
      cpuShare: sameProcess && end.atMs > start.atMs ? cpuShare(start, end) : null,
      elu: this.ownLoop && start ? performance.eventLoopUtilization(start.elu).utilization : null,
    };
  }

  /** The load so far; a window not yet ended is ended now. */
  summary(role: ProcessLoad["role"], name: string): ProcessLoad {
    if (this.inWindow) this.markWindowEnd();
    const known = this.windowSeconds.filter((s): s is number => s !== null);
    return {
      role,
      name,
      cpuShare: this.windowEnd?.cpuShare ?? null,
      peakCpuShare: known.length > 0 ? Math.max(...known) : null,
      eventLoopUtilization: this.windowEnd?.elu ?? null,
      perSecond: this.perSecond,
    };
  }

  private take(): { reading: CpuReading; atMs: number } | null {
    const reading = this.read();
    return reading && { reading, atMs: this.now() };
  }
}
