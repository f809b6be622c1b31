import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readSync } from "node:fs";

/**
 * What the processes of one process group cost, read from Linux's /proc: the
 * same reading for every server rtbench starts (the reference server, nginx
 * with its workers, a user's Node server behind `sh -c`), so "server cost"
 * means one thing whatever the server is.
 */
export interface GroupSample {
  /** User and system CPU of the group's processes, their reaped children's included. */
  cpuSeconds: number;
  /** Resident memory of the group's processes, summed. */
  rssBytes: number;
  /** Processes found in the group. */
  processes: number;
}

let units: { ticksPerSecond: number; pageBytes: number } | undefined;

/** Clock ticks and page size, asked once (they are fixed for the machine's life). */
function procUnits(): { ticksPerSecond: number; pageBytes: number } {
  if (units === undefined) {
    units = { ticksPerSecond: getconf("CLK_TCK", 100), pageBytes: getconf("PAGESIZE", 4096) };
  }
  return units;
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim());
    return Number.isInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/**
 * One sample per process group id (a child started in its own group has the
 * group id of its PID). Null when /proc cannot be read (not Linux): the cost
 * is then unknown, never guessed. A group with no process left samples as zeros.
 *
 * The reads are synchronous, and that is deliberate: a read of /proc never
 * waits for a disk (a scan of 60-80 processes takes 1.3-2.4 ms here),
 * while `fs.promises.readFile` gave every file (size 0 to stat) a 64 KB
 * buffer, 4.5 MB per scan, once a second in the process that publishes: the
 * external memory drove it into a full GC every 1-5 s, 35-95 ms each on a
 * busy machine, which the publisher's schedule showed as lag.
 */
export function sampleProcessGroups(groupIds: readonly number[]): Map<number, GroupSample> | null {
  const pids = processIds();
  if (pids === null) return null;
  const { ticksPerSecond, pageBytes } = procUnits();
  const wanted = new Set(groupIds);
  const samples = new Map<number, GroupSample>();
  for (const id of groupIds) samples.set(id, { cpuSeconds: 0, rssBytes: 0, processes: 0 });
  const listed = new Set<string>();
  for (const pid of pids) {
    listed.add(pid);
    // A process seen before in a group not wanted is not read again (see knownGroups).
    const known = knownGroups.get(pid);
    if (known !== undefined && !wanted.has(known) && !wanted.has(Number(pid))) continue;
    const stat = readStat(pid);
    if (stat !== null) knownGroups.set(pid, stat.groupId);
    if (stat === null || !wanted.has(stat.groupId)) continue;
    const sample = samples.get(stat.groupId) as GroupSample;
    sample.cpuSeconds += stat.ticks / ticksPerSecond;
    sample.rssBytes += stat.rssPages * pageBytes;
    sample.processes++;
  }
  for (const pid of knownGroups.keys()) if (!listed.has(pid)) knownGroups.delete(pid);
  return samples;
}

/**
 * The process group of every process a scan read, by PID, so that the next
 * scan reads only the processes of the groups it wants, new PIDs and group
 * leaders, not every process on the machine: on a shared host (300 processes
 * here) the full scan was 900 system calls a second, twice, in the process
 * that publishes. Skipping is exact because a process can only join a group
 * of its own session, and the groups sampled lead sessions of their own
 * (servers start detached): a process outside them never joins them, and one
 * inside is read every time, so it is seen leaving. A PID gone from /proc is
 * forgotten, so a reused PID is read afresh (reuse between two scans a second
 * apart would need the kernel to wrap around its whole PID range).
 */
const knownGroups = new Map<string, number>();

/** The PIDs /proc lists now; null when it cannot be read (not Linux). */
function processIds(): string[] | null {
  try {
    return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
}

interface Stat {
  /** R running, S sleeping, T stopped, Z zombie, ... */
  state: string;
  groupId: number;
  ticks: number;
  rssPages: number;
}

/** One buffer for every read: /proc/PID/stat is one line, well under 1 KB. */
const statBuffer = Buffer.alloc(4096);

/** Fields of /proc/PID/stat; the process may be gone by the time it is read. */
function readStat(pid: string): Stat | null {
  let text: string;
  try {
    const fd = openSync(`/proc/${pid}/stat`, "r");
    try {
      text = statBuffer.toString("latin1", 0, readSync(fd, statBuffer, 0, statBuffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Field n of proc(5) is fields[n - 3]: pgrp 5, utime 14, stime 15, cutime 16, cstime 17, rss 24.
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return {
    state: fields[0] as string,
    groupId: Number(fields[2]),
    ticks,
    rssPages: Number(fields[21]),
  };
}

/**
 * True while some process of the group is alive. A zombie (exited, waiting
 * for its parent to collect it) does not count: it holds no port, memory or
 * CPU, and an init that is slow to reap orphans must not delay a restart.
 * Without /proc, any member counts.
 */
export function groupAlive(groupId: number): boolean {
  if (!signalGroup(groupId, 0)) return false;
  const pids = processIds();
  if (pids === null) return true;
  return pids.some((pid) => {
    const stat = readStat(pid);
    return stat !== null && stat.groupId === groupId && stat.state !== "Z";
  });
}

/** The live (not zombie) processes of the group; empty without /proc. */
export function groupMembers(groupId: number): number[] {
  const members: number[] = [];
  for (const pid of processIds() ?? []) {
    const stat = readStat(pid);
    if (stat !== null && stat.groupId === groupId && stat.state !== "Z") members.push(Number(pid));
  }
  return members;
}

/**
 * True while process `pid` runs; a zombie has exited. A server's group can
 * outlive it (rtbench's lifeline watcher is in it), so "is the instance up"
 * asks its leader.
 */
export function processAlive(pid: number): boolean {
  const stat = readStat(String(pid));
  return stat !== null && stat.state !== "Z";
}

/**
 * Sends `signal` to process `pid`; false when it is already gone (it may exit
 * between a scan, or a fault's decision, and the signal).
 */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    return false;
  }
}

/** Sends `signal` to every process of the group (0: none, only asks); false when none is left. */
export function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch {
    return false;
  }
}
