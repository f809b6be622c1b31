import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TargetCommand } from "../../scenario/types.js";
import { errorText, runFailed } from "../../shared/errors.js";
import { compileTemplate, fillShellTemplate, fillTemplate } from "../../targets/template.js";
import { freePort, tcpConnectError } from "../../util/net.js";
import { type Supervised, supervise } from "../../util/supervisor.js";
import { type ServerSet, startInstanceSet } from "./servers.js";

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

/** Starts every instance and waits until each is healthy; stops them all if one fails. */
export async function startCommandedServers(options: CommandedServerOptions): Promise<ServerSet> {
  const { command } = options;
  const root = await mkdtemp(join(tmpdir(), "rtbench-target-"));
  const cleanup = () => rm(root, { recursive: true, force: true });
  // Every instance's preparation settles before the directory may be removed.
  const prepared = await Promise.allSettled(
    Array.from({ length: command.instances }, (_, i) => prepareInstance(i, root, options)),
  );
  const failed = prepared.find((p) => p.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) {
    await cleanup();
    const reason = errorText(failed.reason);
    throw runFailed(`the target would not start: ${reason}`, failed.reason);
  }
  const instances = prepared.map((p) => (p as PromiseFulfilledResult<Instance>).value);
  return startInstanceSet({
    kind: "target",
    count: instances.length,
    spawn: (index) => spawnInstance(instances[index] as Instance, options),
    urlOf: (_child, index) => (instances[index] as Instance).url,
    auth: null,
    failure: "the target would not start",
    cleanup,
  });
}

/** How instance i is started: its port, its scratch directory with its files, its command line. */
interface Instance {
  name: string;
  url: string;
  port: number;
  line: string;
}

async function prepareInstance(
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
    // Values are quoted in the command line (a path may hold `$(...)`), not in files.
    line: fillShellTemplate(compileTemplate(command.line), values),
  };
  if (await portAnswers(command.origin, port)) {
    throw new Error(
      `${instance.name}: port ${port} is in use by another process (rtbench starts the target itself with target.command)`,
    );
  }
  return instance;
}

/** Runs the instance's command and waits until it is healthy (or fails, or times out). */
function spawnInstance(instance: Instance, options: CommandedServerOptions): Promise<Supervised> {
  const { command, log } = options;
  const what =
    command.health === null
      ? `TCP connection on port ${instance.port}`
      : `2xx answer from ${instance.url}${command.health}`;
  const label = `${instance.name} (${instance.line})`;
  return supervise({
    name: instance.name,
    command: "/bin/sh",
    args: ["-c", `echo ${STARTED_LINE}\n${instance.line}`],
    readyLine: new RegExp(`^${STARTED_LINE}$`),
    // The command's whole tree (nginx's workers, a server behind `npm start`) is stopped,
    // stalled and sampled with it.
    scope: "tree",
    onStderr: (line) => log(`${instance.name}: ${line}`),
    probe: {
      ready: () => healthy(instance, command.health),
      timeoutMs: command.startTimeoutMs,
      intervalMs: 100,
      exited: (code, tail) =>
        `${label} exited with code ${code} before a ${what}${tail.length > 0 ? `: ${tail.join("\n")}` : ""}`,
      timedOut: () => `${label} had no ${what} within ${command.startTimeoutMs} ms`,
    },
  });
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
