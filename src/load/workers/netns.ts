import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errorText } from "../../shared/errors.js";

const run = promisify(execFile);

/**
 * `--local` as root: each worker in a network namespace of its own, so its
 * control connection and its clients cross a real network stack (veth,
 * bridge, the host's TCP) instead of loopback. One bridge on the host holds
 * the host's address; each worker gets a veth pair whose namespace end has
 * the worker's address and nothing else: no default route, so nothing
 * leaves the machine. Every name carries this process's id, and `remove()`
 * deletes all of it (a namespace's deletion takes its veth pair along).
 */
export interface WorkerNetwork {
  /** The host's address on the bridge: servers and the coordinator listen here. */
  hostAddress: string;
  /** The command prefix that runs a program inside worker `i`'s namespace. */
  enter(i: number): string[];
  /** Worker `i`'s address. */
  workerAddress(i: number): string;
  remove(): Promise<void>;
}

/** Why namespaces cannot be used here; null when they can. */
export async function namespacesUnavailable(): Promise<string | null> {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root";
  try {
    await run("ip", ["netns", "list"]);
    return null;
  } catch (error) {
    return `\`ip netns\` failed: ${errorText(error).split("\n")[0]}`;
  }
}

/** Creates the bridge and one namespace with a veth pair per worker. */
export async function createWorkerNetwork(count: number): Promise<WorkerNetwork> {
  const tag = `rtb${process.pid % 100_000}`;
  // A /16 of 10/8 per run (by process id), so two runs on one host do not collide.
  const net = `10.${100 + (process.pid % 100)}`;
  const bridge = `${tag}br`;
  const hostAddress = `${net}.0.1`;
  const address = (i: number) => `${net}.${(i + 2) >> 8}.${(i + 2) & 255}`;
  const namespace = (i: number) => `${tag}-w${i}`;
  const made: string[] = [];
  const remove = async () => {
    for (const name of made.reverse()) {
      const args = name === bridge ? ["link", "del", bridge] : ["netns", "del", name];
      await run("ip", args).catch(() => {});
    }
    made.length = 0;
  };
  try {
    await ip("link", "add", bridge, "type", "bridge");
    made.push(bridge);
    await ip("addr", "add", `${hostAddress}/16`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    for (let i = 0; i < count; i++) {
      const ns = namespace(i);
      const [outside, inside] = [`${tag}h${i}`, `${tag}n${i}`];
      await ip("netns", "add", ns);
      made.push(ns);
      await ip("link", "add", outside, "type", "veth", "peer", "name", inside);
      await ip("link", "set", inside, "netns", ns);
      await ip("link", "set", outside, "master", bridge);
      await ip("link", "set", outside, "up");
      await ip("-n", ns, "addr", "add", `${address(i)}/16`, "dev", inside);
      await ip("-n", ns, "link", "set", inside, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    hostAddress,
    enter: (i) => ["ip", "netns", "exec", namespace(i)],
    workerAddress: address,
    remove,
  };
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(" ")}: ${stderr || (error as Error).message}`);
  }
}
