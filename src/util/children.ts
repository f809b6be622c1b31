import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { groupMembers } from "./proc.js";

/**
 * Child processes rtbench starts (server instances, redis-server, shards),
 * tracked so that Ctrl-C, a crash or a failed start never leaves one behind.
 * Only processes started here are ever signalled, always by their own PID
 * or their own process group.
 *
 * That covers every way rtbench stops except the one it cannot see: SIGKILL
 * (or the OOM killer), where no handler runs, and Node has no
 * PR_SET_PDEATHSIG. So every child is started behind a lifeline: its stdin
 * is a pipe whose other end only rtbench holds, and a tiny shell watcher
 * beside the child waits for that pipe to close. The kernel closes it when
 * rtbench dies, however it dies; the watcher then stops the child's process
 * group (SIGCONT, so a stalled child can die, then SIGTERM, then SIGKILL).
 * The child runs by `exec` under the same PID, so signals, SIGSTOP faults
 * and /proc sampling reach the real process, and nothing in the child needs
 * to cooperate (redis-server cannot).
 */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or null if killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default), then SIGKILL after `graceMs`; resolves once it exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A line on stdout matching this means "ready"; the match is returned. */
  readyPattern: RegExp;
  readyTimeoutMs?: number;
  /** Open an IPC channel (for node children that report with process.send). */
  ipc?: boolean;
  /** Called with each line the child prints on stderr (default: kept for the error message). */
  onStderr?: (line: string) => void;
  /** Called with each line the child prints on stdout, the ready line included. */
  onStdout?: (line: string) => void;
}

/** True until the process exited or was killed. */
export function isRunning(handle: ChildHandle): boolean {
  return handle.process.exitCode === null && handle.process.signalCode === null;
}

const live = new Set<ChildHandle>();

/**
 * The lifeline (see the top of this file), as `sh -c LIFELINE rtbench-child
 * COMMAND ARGS...`. fd 9 keeps the pipe for the watcher; the child gets
 * /dev/null as stdin. The watcher closes every other descriptor (stdout,
 * stderr, the IPC channel), or rtbench would not see them close when the
 * child exits; it ignores the TERM it sends to its own group, and only ever
 * signals that group, which cannot be reused while the watcher is in it.
 * `kill -0` only asks whether the child still runs.
 */
const LIFELINE = [
  "exec 9<&0 </dev/null",
  "( trap '' TERM INT HUP; exec >/dev/null 2>&1 3>&- 4>&-; read _ <&9;" +
    " kill -CONT -$$; kill -TERM -$$; n=0;" +
    " while kill -0 $$ && [ $n -lt 15 ]; do sleep 0.1; n=$((n+1)); done;" +
    " kill -KILL -$$ ) &",
  "exec 9<&-",
  'exec "$@"',
].join("\n");

/**
 * The lifeline watchers in a child's process group: what a SIGSTOP of the
 * whole group (a stalled target) must wake again, or a watcher stopped with
 * it could not stop the group if rtbench died during the stall. A watcher
 * is the shell that ran LIFELINE (its command line holds it; the child
 * itself exec'd into its own).
 */
export function lifelineWatchers(group: number): number[] {
  const mark = LIFELINE.slice(0, LIFELINE.indexOf("\n"));
  return groupMembers(group).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(mark);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Windows has no sh and no process groups to signal: children start bare there. */
const WITH_LIFELINE = process.platform !== "win32";

/**
 * Starts a child behind its lifeline and waits for its ready line; a child
 * that exits first, or stays silent past `readyTimeoutMs`, is killed and
 * the error says why (with the tail of its stderr).
 */
export async function startChild(
  options: StartChildOptions,
): Promise<{ handle: ChildHandle; match: RegExpMatchArray }> {
  const child = await spawnChild(options);
  const pid = child.pid as number; // spawnChild threw if it has none
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  const handle: ChildHandle = {
    name: options.name,
    pid,
    process: child,
    exited,
    stop: (signal = "SIGTERM", graceMs = 5000) => stopChild(handle, signal, graceMs),
  };
  live.add(handle);
  void exited.then(() => {
    live.delete(handle);
    // The child is gone: closing the lifeline lets its watcher exit too.
    child.stdin?.destroy();
  });
  try {
    return { handle, match: await readyLine(child, exited, options) };
  } catch (error) {
    await handle.stop("SIGKILL");
    throw error;
  }
}

/** Spawns the child (behind the lifeline where there is one); throws when it cannot start. */
async function spawnChild(options: StartChildOptions): Promise<ChildProcess> {
  const [command, args] = WITH_LIFELINE
    ? ["/bin/sh", ["-c", LIFELINE, "rtbench-child", options.command, ...options.args]]
    : [options.command, options.args];
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    // Own process group: the terminal's Ctrl-C reaches only rtbench, which
    // stops children in order and still collects what they measured; and
    // the lifeline stops the child's whole group.
    detached: WITH_LIFELINE,
    stdio: [
      WITH_LIFELINE ? "pipe" : "ignore",
      "pipe",
      "pipe",
      ...(options.ipc ? (["ipc"] as const) : []),
    ],
  });
  // Never written to; an error on it only means the watcher is gone already.
  child.stdin?.on("error", ignore);
  // A pipe that breaks (the child's end closed under load) ends the lines it carried, not rtbench.
  child.stdout?.on("error", ignore);
  child.stderr?.on("error", ignore);
  if (child.pid === undefined) {
    // spawn reports ENOENT asynchronously; wait for it so the message is the real one.
    const error = await new Promise<Error>((resolve) => child.once("error", resolve));
    throw new Error(`could not start ${options.name} (${options.command}): ${error.message}`);
  }
  // After the start: a signal that cannot be delivered (kill() on a gone process) emits 'error'.
  child.on("error", ignore);
  return child;
}

/** The match of the child's ready line; rejects when it exits first or takes too long. */
function readyLine(
  child: ChildProcess,
  exited: Promise<number | null>,
  options: StartChildOptions,
): Promise<RegExpMatchArray> {
  const stderrTail: string[] = [];
  forEachLine(child.stderr, (line) => {
    if (options.onStderr) options.onStderr(line);
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    const timer = setTimeout(
      () => reject(new Error(`${options.name} was not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    forEachLine(child.stdout, (line) => {
      options.onStdout?.(line);
      const found = line.match(options.readyPattern);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      const tail = stderrTail.length ? `: ${stderrTail.join("\n")}` : "";
      reject(new Error(`${options.name} exited with code ${code} before it was ready${tail}`));
    });
  });
}

async function stopChild(handle: ChildHandle, signal: NodeJS.Signals, graceMs: number) {
  const child = handle.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await handle.exited;
  clearTimeout(timer);
}

/** Stops every child still running, gracefully first. */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((handle) => handle.stop("SIGTERM", graceMs)));
}

// Last resort: if the process exits while children run, kill them synchronously.
process.on("exit", () => {
  for (const handle of live) handle.process.kill("SIGKILL");
});

/**
 * A line longer than this is cut: a child that prints without newlines
 * (a binary dump, a runaway log) must not grow rtbench's memory. The first
 * MAX_LINE characters are passed on, marked, and the rest of that line is
 * dropped.
 */
export const MAX_LINE = 64 * 1024;

/** Calls `onLine` with each line of `stream` (without its newline), each at most MAX_LINE characters. */
export function forEachLine(
  stream: NodeJS.ReadableStream | null,
  onLine: (line: string) => void,
): void {
  if (!stream) return;
  let buffered = "";
  let dropping = false; // inside a line already cut: drop up to its newline
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      if (!dropping) onLine(buffered.slice(0, newline).replace(/\r$/, ""));
      dropping = false;
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
    if (buffered.length > MAX_LINE) {
      if (!dropping) onLine(`${buffered.slice(0, MAX_LINE)} [line cut at ${MAX_LINE} characters]`);
      dropping = true;
      buffered = "";
    }
  });
}

function ignore(): void {}
