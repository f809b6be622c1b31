import {
  type CpuReader,
  LoadRecorder,
  ownCpu,
  type ProcessLoad,
} from "../../metrics/process-load.js";
import { monoMs } from "../../util/clock.js";
import { groupReader } from "./server-seconds.js";
import type { ServerSet } from "./servers.js";

/** One process the parent watches, and where its CPU time comes from. */
export interface WatchedProcess {
  role: ProcessLoad["role"];
  name: string;
  read: CpuReader;
  /** True only for this process: its event loop is the one `performance` measures. */
  ownLoop: boolean;
}

/**
 * The parent's view of how busy the processes are, sampled once a second:
 * itself (it runs the publisher) and every server instance rtbench started.
 * Shards sample themselves and report. Anything that can read a process's
 * CPU time can be watched: pass its `CpuReader`.
 */
export class LoadMonitor {
  private readonly recorders: { process: WatchedProcess; recorder: LoadRecorder }[];
  private readonly timer: NodeJS.Timeout;

  constructor(processes: WatchedProcess[]) {
    this.recorders = processes.map((process) => ({
      process,
      recorder: new LoadRecorder(process.read, monoMs, process.ownLoop),
    }));
    this.timer = setInterval(() => {
      for (const { recorder } of this.recorders) recorder.tick();
    }, 1000);
    // Sampling never keeps the process alive on its own.
    this.timer.unref();
  }

  markWindowStart(): void {
    for (const { recorder } of this.recorders) recorder.markWindowStart();
  }

  markWindowEnd(): void {
    for (const { recorder } of this.recorders) recorder.markWindowEnd();
  }

  summaries(): ProcessLoad[] {
    return this.recorders.map(({ process, recorder }) =>
      recorder.summary(process.role, process.name),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * The parent itself, and each instance of `servers` as its whole process
 * group, by its current leader (a restart changes it): the cost rows read the
 * same groups, so nginx's workers or a server behind `sh -c` count, not the
 * master or the shell that waits for them.
 */
export function runProcesses(servers: ServerSet | null): WatchedProcess[] {
  const watched: WatchedProcess[] = [
    { role: "publisher", name: "rtbench (publisher)", read: ownCpu(), ownLoop: true },
  ];
  if (servers === null) return watched;
  const read = groupReader(servers);
  servers.urls.forEach((_, i) => {
    watched.push({
      role: "server",
      name: `server instance ${i}`,
      read: () => {
        const sample = read(i);
        return sample?.pid == null ? null : { id: sample.pid, cpuMs: sample.cpuSeconds * 1000 };
      },
      ownLoop: false,
    });
  });
  return watched;
}
