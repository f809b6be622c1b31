import { type ChildProcess, spawn } from "node:child_process";

/**
 * Child processes rtbench starts (server instances, redis-server, shards),
 * tracked so that Ctrl-C, a crash or a failed start never leaves one behind.
 * Only processes started here are ever signalled, always by their own PID.
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
  /**
   * Own process group, so the terminal's Ctrl-C reaches only the parent, which
   * then stops children in order and still collects what they measured.
   */
  detached?: boolean;
  /** Called with each line the child prints on stderr (default: kept for the error message). */
  onStderr?: (line: string) => void;
}

const live = new Set<ChildHandle>();

export async function startChild(
  options: StartChildOptions,
): Promise<{ handle: ChildHandle; match: RegExpMatchArray }> {
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) {
    // spawn reports ENOENT asynchronously; wait for it so the message is the real one.
    const error = await new Promise<Error>((resolve) => child.once("error", resolve));
    throw new Error(`could not start ${options.name} (${options.command}): ${error.message}`);
  }
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  const handle: ChildHandle = {
    name: options.name,
    pid: child.pid,
    process: child,
    exited,
    stop: (signal = "SIGTERM", graceMs = 5000) => stopChild(handle, signal, graceMs),
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));

  const stderrTail: string[] = [];
  forEachLine(child.stderr, (line) => {
    if (options.onStderr) options.onStderr(line);
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });

  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timeoutMs = options.readyTimeoutMs ?? 15_000;
      const timer = setTimeout(
        () => reject(new Error(`${options.name} was not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      forEachLine(child.stdout, (line) => {
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
    return { handle, match };
  } catch (error) {
    await handle.stop("SIGKILL");
    throw error;
  }
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

function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void) {
  if (!stream) return;
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      onLine(buffered.slice(0, newline).replace(/\r$/, ""));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  });
}
