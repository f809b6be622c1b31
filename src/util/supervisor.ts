import { type ChildHandle, isRunning, lifelineWatchers, startChild } from "./children.js";
import { sleep } from "./clock.js";
import { groupAlive, signalGroup, signalProcess } from "./proc.js";

/**
 * The one supervisor of every child rtbench starts for a run or for
 * `rtbench serve`: reference server instances, a target's command, the
 * backing services (redis-server, nats-server) and the proxies. It starts
 * the child (util/children.ts: own process group, lifeline), waits until it
 * is ready within a bound, keeps its last lines of output for the failure
 * message, and stops, stalls and resumes it, only ever by its own PID or
 * process group.
 *
 * A kind says only what differs: its command, how it is known to be ready,
 * what its failure lines say, and whether it is one process or a tree.
 */
export interface SuperviseOptions {
  /** How messages name it ("server instance 0", "redis-server on port 6379"). */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** A line on stdout saying the process is up; without a probe, that it is ready. */
  readyLine: RegExp;
  /** How long to wait for `readyLine` (default: startChild's). */
  readyLineTimeoutMs?: number;
  /** Asked after the ready line until it answers true: a health route, a TCP connection. */
  probe?: ReadyProbe;
  /**
   * "process": one process, signalled by its PID (the reference server,
   * redis-server and nats-server each run by exec under the child's PID).
   * "tree": the child's whole process group, waited for until every member
   * is gone (a shell command, nginx's master and its workers).
   */
  scope: "process" | "tree";
  /** Each line the child prints on stderr. */
  onStderr?: (line: string) => void;
}

export interface ReadyProbe {
  ready(): Promise<boolean>;
  timeoutMs: number;
  intervalMs: number;
  /** The failure line when the child exits before the probe passed, with its last lines. */
  exited(code: number | null, tail: readonly string[]): string;
  /** The failure line when the probe never passed within `timeoutMs`. */
  timedOut(): string;
}

/** A child under supervision, ready. */
export interface Supervised {
  readonly name: string;
  readonly handle: ChildHandle;
  /** The ready line's match (the reference server's names its URL). */
  readonly match: RegExpMatchArray;
  /** True while the child (for a tree, any member of its group) has not exited. */
  running(): boolean;
  /** SIGSTOP: it keeps its sockets open and does nothing, as a hung process. */
  pause(): void;
  /** SIGCONT after pause(); nothing when it is not paused. */
  resume(): void;
  /** `signal` (SIGTERM by default), SIGKILL after `graceMs`; resolves once it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** The last lines of output (stdout and stderr, in order) kept to show when a start fails. */
const OUTPUT_TAIL_LINES = 20;
const STOP_GRACE_MS = 5000;
/** How long a group may take to go after SIGKILL (a process in uninterruptible sleep). */
const KILL_WAIT_MS = 5000;

/**
 * Every tree's group while it runs. children.ts kills each child by its PID
 * when rtbench exits without cleanup; a tree's other members (nginx's
 * workers, a wrapper's children) go with the group.
 */
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const group of liveGroups) signalGroup(group, "SIGKILL");
});

/** Starts the child and waits until it is ready; stops it again (SIGKILL) when it is not. */
export async function supervise(options: SuperviseOptions): Promise<Supervised> {
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
  };
  const { handle, match } = await startChild({
    name: options.name,
    command: options.command,
    args: options.args,
    env: options.env,
    readyPattern: options.readyLine,
    readyTimeoutMs: options.readyLineTimeoutMs,
    onStderr: (line) => {
      keep(line);
      options.onStderr?.(line);
    },
    // A server that reports its failure on stdout (many do) is shown with it too.
    onStdout: (line) => {
      if (!options.readyLine.test(line)) keep(line);
    },
  });
  const child = new SupervisedChild(options.name, handle, match, options.scope);
  if (options.probe !== undefined) {
    try {
      await waitReady(handle, options.probe, tail);
    } catch (error) {
      await child.stop("SIGKILL");
      throw error;
    }
  }
  return child;
}

/** Asks the probe until it passes, the child exits, or the bound is reached. */
async function waitReady(
  handle: ChildHandle,
  probe: ReadyProbe,
  tail: readonly string[],
): Promise<void> {
  const deadline = Date.now() + probe.timeoutMs;
  let exitCode: number | null | undefined;
  void handle.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) throw new Error(probe.exited(exitCode, tail));
    if (await probe.ready()) return;
    if (Date.now() > deadline) throw new Error(probe.timedOut());
    await sleep(probe.intervalMs);
  }
}

class SupervisedChild implements Supervised {
  private paused = false;

  constructor(
    readonly name: string,
    readonly handle: ChildHandle,
    readonly match: RegExpMatchArray,
    private readonly scope: "process" | "tree",
  ) {
    if (scope === "tree") {
      liveGroups.add(handle.pid);
      void handle.exited.then(() => {
        if (!groupAlive(handle.pid)) liveGroups.delete(handle.pid);
      });
    }
  }

  running(): boolean {
    return isRunning(this.handle) || (this.scope === "tree" && groupAlive(this.handle.pid));
  }

  pause(): void {
    // The lifeline watcher (same group) must stay awake to stop the child if
    // rtbench dies meanwhile: a process's own SIGSTOP leaves it alone; a
    // group's stops it too, so it is woken again at once. Paused first: a
    // watcher that exits between the scan and its SIGCONT must not leave the
    // group stopped with resume() thinking there is nothing to do.
    this.paused = true;
    if (this.scope === "tree") {
      signalGroup(this.handle.pid, "SIGSTOP");
      for (const watcher of lifelineWatchers(this.handle.pid)) signalProcess(watcher, "SIGCONT");
    } else this.handle.process.kill("SIGSTOP");
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.scope === "tree") signalGroup(this.handle.pid, "SIGCONT");
    else if (isRunning(this.handle)) this.handle.process.kill("SIGCONT");
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.scope === "tree") {
      this.paused = false;
      await stopGroup(this.handle, signal, graceMs);
      return;
    }
    // A stopped process would hold SIGTERM until SIGCONT; SIGKILL needs none.
    if (signal === "SIGKILL") this.paused = false;
    else this.resume();
    await this.handle.stop(signal, graceMs);
  }
}

/**
 * Signals the whole group and waits until every process in it is gone
 * (SIGKILL after the grace time): nginx's workers, a wrapper's children.
 * SIGCONT first, so that a stalled group can act on the signal.
 */
async function stopGroup(handle: ChildHandle, signal: NodeJS.Signals, graceMs: number) {
  const group = handle.pid;
  signalGroup(group, "SIGCONT");
  signalGroup(group, signal);
  const deadline = Date.now() + graceMs;
  while (groupAlive(group) && Date.now() < deadline) await sleep(25);
  if (groupAlive(group)) signalGroup(group, "SIGKILL");
  const killDeadline = Date.now() + KILL_WAIT_MS;
  while (groupAlive(group) && Date.now() < killDeadline) await sleep(25);
  await handle.exited;
  liveGroups.delete(group);
}
