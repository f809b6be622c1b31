import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TargetCommand } from "../scenario/types.js";
import { errorText, runFailed } from "../shared/errors.js";
import { compileTemplate, fillShellTemplate, fillTemplate } from "../targets/template.js";
import { type ChildHandle, isRunning, startChild } from "../util/children.js";
import { sleep } from "../util/clock.js";
import { freePort, tcpConnectError } from "../util/net.js";
import { groupAlive, signalGroup } from "../util/proc.js";
import { postDrop, type ServerSet } from "./servers.js";

/**
 * Servers rtbench starts from a scenario's `target.command` (a user's own
 * server, nginx with Nchan, a Socket.IO app): N instances of one shell
 * command, instance i on its own port and scratch directory, each in its own
 * process group, so that nginx's workers or a server behind `npm start` are
 * stopped, stalled and sampled with it. Faults act on them as on the
 * reference server (ServerSet); `rtbench ab` starts two sets, one per build.
 */
export interface CommandedServerOptions {
  command: TargetCommand;
  /** Values of the placeholders besides the per-instance ones ({redisUrl}, the protocol's own). */
  placeholders: Readonly<Record<string, string>>;
  /** What the instances print on stderr, and start and stop notices. */
  log: (line: string) => void;
}

/** A line the wrapper prints before running the command: the process is up (not yet healthy). */
const STARTED_LINE = "rtbench-command-started";
const STOP_GRACE_MS = 5000;
/** The last lines of a command's output (stdout and stderr, in order) kept to show when it fails. */
const OUTPUT_TAIL_LINES = 20;

/** Every group a run started, so that an exit without cleanup still takes its workers along. */
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const group of liveGroups) signalGroup(group, "SIGKILL");
});

interface Instance {
  name: string;
  url: string;
  port: number;
  dir: string;
  line: string;
  handle: ChildHandle;
  paused: boolean;
  /** The command's last lines, stdout and stderr as they came: what a failure shows. */
  output: string[];
}

/** Starts every instance and waits until each is healthy; stops them all if one fails. */
export async function startCommandedServers(options: CommandedServerOptions): Promise<ServerSet> {
  const { command } = options;
  const root = await mkdtemp(join(tmpdir(), "rtbench-target-"));
  const started = await Promise.allSettled(
    Array.from({ length: command.instances }, (_, i) => startInstance(i, root, options)),
  );
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
  const set = new CommandedServers(ok, root, options);
  if (failed) {
    await set.stop();
    const reason = errorText(failed.reason);
    throw runFailed(`the target would not start: ${reason}`, failed.reason);
  }
  return set;
}

async function startInstance(
  index: number,
  root: string,
  options: CommandedServerOptions,
): Promise<Instance> {
  const { command } = options;
  const port = command.basePort === null ? await freePort() : command.basePort + index;
  const dir = join(root, `instance-${index}`);
  await mkdir(dir);
  const values = {
    ...options.placeholders,
    port: String(port),
    instance: String(index),
    dir,
    scenarioDir: command.scenarioDir,
  };
  for (const file of command.files) {
    const text = await readFile(file, "utf8");
    await writeFile(join(dir, basename(file)), fillTemplate(compileTemplate(text), values));
  }
  const instance: Instance = {
    name: `target instance ${index}`,
    url: `${command.origin}:${port}`,
    port,
    dir,
    // Values are quoted in the command line (a path may hold `$(...)`), not in files.
    line: fillShellTemplate(compileTemplate(command.line), values),
    handle: undefined as unknown as ChildHandle,
    paused: false,
    output: [],
  };
  if (await portAnswers(command.origin, port)) {
    throw new Error(
      `${instance.name}: port ${port} is in use by another process (rtbench starts the target itself with target.command)`,
    );
  }
  await spawnInstance(instance, options);
  return instance;
}

/** Runs the instance's command and waits until it is healthy (or fails, or times out). */
async function spawnInstance(instance: Instance, options: CommandedServerOptions): Promise<void> {
  const { command, log } = options;
  instance.output = [];
  const keep = (line: string) => {
    instance.output.push(line);
    if (instance.output.length > OUTPUT_TAIL_LINES) instance.output.shift();
  };
  const { handle } = await startChild({
    name: instance.name,
    command: "/bin/sh",
    args: ["-c", `echo ${STARTED_LINE}\n${instance.line}`],
    // Every child runs in its own process group (util/children.ts): signals and
    // /proc samples reach the command's whole tree.
    readyPattern: new RegExp(`^${STARTED_LINE}$`),
    onStderr: (line) => {
      keep(line);
      log(`${instance.name}: ${line}`);
    },
    // A server that reports its failure on stdout (many do) is shown with it too.
    onStdout: (line) => {
      if (line !== STARTED_LINE) keep(line);
    },
  });
  instance.handle = handle;
  instance.paused = false;
  liveGroups.add(handle.pid);
  try {
    await waitReady(instance, command);
  } catch (error) {
    await stopGroup(handle, "SIGKILL");
    throw error;
  }
}

/** Polls `health` for a 2xx (or the port for a connection) until the deadline or an early exit. */
async function waitReady(instance: Instance, command: TargetCommand): Promise<void> {
  const deadline = Date.now() + command.startTimeoutMs;
  const what =
    command.health === null
      ? `TCP connection on port ${instance.port}`
      : `2xx answer from ${instance.url}${command.health}`;
  let exitCode: number | null | undefined;
  void instance.handle.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) {
      const tail = instance.output.length > 0 ? `: ${instance.output.join("\n")}` : "";
      throw new Error(
        `${instance.name} (${instance.line}) exited with code ${exitCode} before a ${what}${tail}`,
      );
    }
    if (await healthy(instance, command.health)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${instance.name} (${instance.line}) had no ${what} within ${command.startTimeoutMs} ms`,
      );
    }
    await sleep(100);
  }
}

async function healthy(instance: Instance, health: string | null): Promise<boolean> {
  if (health === null) return portAnswers(new URL(instance.url).origin, instance.port);
  try {
    const response = await fetch(`${instance.url}${health}`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** True when something accepts a TCP connection on the port. */
async function portAnswers(origin: string, port: number): Promise<boolean> {
  return (await tcpConnectError(new URL(origin).hostname, port)) === null;
}

/**
 * Signals the whole group and waits until every process in it is gone
 * (SIGKILL after the grace time): nginx's workers, a wrapper's children.
 */
async function stopGroup(handle: ChildHandle, signal: NodeJS.Signals, graceMs = STOP_GRACE_MS) {
  const group = handle.pid;
  signalGroup(group, "SIGCONT");
  signalGroup(group, signal);
  const deadline = Date.now() + graceMs;
  while (groupAlive(group) && Date.now() < deadline) await sleep(25);
  if (groupAlive(group)) signalGroup(group, "SIGKILL");
  while (groupAlive(group)) await sleep(25);
  await handle.exited;
  liveGroups.delete(group);
}

class CommandedServers implements ServerSet {
  readonly urls: string[];
  private stopped = false;

  constructor(
    private readonly set: Instance[],
    private readonly root: string,
    private readonly options: CommandedServerOptions,
  ) {
    this.urls = set.map((instance) => instance.url);
  }

  get instances(): readonly ChildHandle[] {
    return this.set.map((instance) => instance.handle);
  }

  async kill(index: number): Promise<void> {
    const instance = this.instance(index);
    instance.paused = false;
    await stopGroup(instance.handle, "SIGKILL");
  }

  async start(index: number): Promise<void> {
    const instance = this.instance(index);
    if (this.stopped) throw runFailed(`cannot start ${instance.name}: the servers were stopped`);
    if (isRunning(instance.handle) || groupAlive(instance.handle.pid)) {
      throw runFailed(`cannot start ${instance.name}: it still runs (pid ${instance.handle.pid})`);
    }
    try {
      await spawnInstance(instance, this.options);
    } catch (error) {
      const reason = errorText(error);
      throw runFailed(
        `${instance.name} would not start again on ${instance.url}: ${reason}`,
        error,
      );
    }
    // stop() ran while this one was starting: it must not outlive the run.
    if (this.stopped) await stopGroup(instance.handle, "SIGTERM");
  }

  async restart(index: number): Promise<void> {
    const instance = this.instance(index);
    // A stopped group would hold SIGTERM until SIGCONT; stopGroup sends both.
    instance.paused = false;
    await stopGroup(instance.handle, "SIGTERM");
    await this.start(index);
  }

  pause(index: number): void {
    const instance = this.instance(index);
    if (!isRunning(instance.handle))
      throw runFailed(`cannot pause ${instance.name}: it is not running`);
    signalGroup(instance.handle.pid, "SIGSTOP");
    instance.paused = true;
  }

  resume(index: number): void {
    const instance = this.instance(index);
    if (!instance.paused) return;
    instance.paused = false;
    signalGroup(instance.handle.pid, "SIGCONT");
  }

  /** The reference protocol's admin route, for a reference server started with --admin. */
  async drop(index: number | "all", fraction: number): Promise<number> {
    const targets = index === "all" ? this.set : [this.instance(index)];
    let dropped = 0;
    for (const target of targets) dropped += await postDrop(target, fraction);
    return dropped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      this.set.map((instance) =>
        instance.handle === undefined ? undefined : stopGroup(instance.handle, "SIGTERM"),
      ),
    );
    await rm(this.root, { recursive: true, force: true });
  }

  private instance(index: number): Instance {
    const instance = this.set[index];
    if (instance === undefined) {
      throw runFailed(
        `no target instance ${index}: expected 0 to ${this.set.length - 1} (${this.set.length} started)`,
      );
    }
    return instance;
  }
}
