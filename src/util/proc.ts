import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";

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
 */
export async function sampleProcessGroups(
  groupIds: readonly number[],
): Promise<Map<number, GroupSample> | null> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return null;
  }
  const { ticksPerSecond, pageBytes } = procUnits();
  const wanted = new Set(groupIds);
  const samples = new Map<number, GroupSample>();
  for (const id of groupIds) samples.set(id, { cpuSeconds: 0, rssBytes: 0, processes: 0 });
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const stat = await readStat(entry);
      if (stat === null || !wanted.has(stat.groupId)) return;
      const sample = samples.get(stat.groupId) as GroupSample;
      sample.cpuSeconds += stat.ticks / ticksPerSecond;
      sample.rssBytes += stat.rssPages * pageBytes;
      sample.processes++;
    }),
  );
  return samples;
}

interface Stat {
  /** R running, S sleeping, T stopped, Z zombie, ... */
  state: string;
  groupId: number;
  ticks: number;
  rssPages: number;
}

/** Fields of /proc/PID/stat; the process may be gone by the time it is read. */
async function readStat(pid: string): Promise<Stat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
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
export async function groupAlive(groupId: number): Promise<boolean> {
  if (!signalGroup(groupId, 0)) return false;
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return true;
  }
  const states = await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return false;
      const stat = await readStat(entry);
      return stat !== null && stat.groupId === groupId && stat.state !== "Z";
    }),
  );
  return states.includes(true);
}

/**
 * True while process `pid` runs; a zombie has exited. A server's group can
 * outlive it (rtbench's lifeline watcher is in it), so "is the instance up"
 * asks its leader.
 */
export async function processAlive(pid: number): Promise<boolean> {
  const stat = await readStat(String(pid));
  return stat !== null && stat.state !== "Z";
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
