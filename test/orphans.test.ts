/**
 * No orphans: whatever happens to rtbench, SIGKILL included, every process
 * it started (server instances, shards, redis-server, a stalled instance)
 * is gone within 2 s. Real processes throughout: the real bin, its real
 * children, /proc to see them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { redisServerAvailable } from "../src/services/redis.js";
import { compiledEntry } from "../src/util/paths.js";
import { groupAlive, signalGroup } from "../src/util/proc.js";
import { RTBENCH_BIN } from "./helpers/cli.js";

const onLinux = process.platform === "linux";

/** pid -> [parent pid, state letter], from /proc. */
function processTable(): Map<number, [number, string]> {
  const table = new Map<number, [number, string]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may hold spaces and parentheses: fields start after the last ")".
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(entry), [Number(ppid), state as string]);
    } catch {
      // exited while we looked
    }
  }
  return table;
}

function descendantsOf(root: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, [ppid]] of table) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** The process's command name, or undefined when it exited since it was listed. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Running or stopped; a zombie (waiting for a reaper that may not exist in a container) is gone. */
function stillThere(pid: number): boolean {
  const entry = processTable().get(pid);
  return entry !== undefined && entry[1] !== "Z";
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGKILLs `cli` and returns the descendants still there 2 s later. */
async function killAndCheck(cli: ChildProcess, descendants: number[]): Promise<number[]> {
  cli.kill("SIGKILL");
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return descendants.filter(stillThere);
}

function spawnCli(args: string[]): { cli: ChildProcess; output: () => string } {
  const cli = spawn(process.execPath, [RTBENCH_BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let text = "";
  cli.stdout?.setEncoding("utf8").on("data", (d: string) => (text += d));
  cli.stderr?.setEncoding("utf8").on("data", (d: string) => (text += d));
  return { cli, output: () => text };
}

describe.runIf(onLinux)("no orphans when rtbench is SIGKILLed", () => {
  it.runIf(redisServerAvailable())(
    "serve: redis-server and both instances are gone within 2 s",
    async () => {
      const { cli, output } = spawnCli([
        "serve",
        "--port",
        "0",
        "--instances",
        "2",
        "--broker",
        "redis",
      ]);
      try {
        await waitFor("two instance URLs", () =>
          (output().match(/^http:\/\/\S+$/gm) ?? []).length === 2 ? true : undefined,
        );
        const descendants = descendantsOf(cli.pid as number);
        // comm, not cmdline: each child's lifeline watcher is a shell whose arguments name the child.
        const names = descendants.map((pid) => commandOf(pid) ?? "(exited)");
        expect(names.filter((n) => n === "redis-server")).toHaveLength(1);
        expect(names.filter((n) => n === "node")).toHaveLength(2);
        expect(await killAndCheck(cli, descendants)).toEqual([]);
      } finally {
        cli.kill("SIGKILL");
      }
    },
  );

  it("run: server instances, a stalled (SIGSTOPped) instance and shards are gone within 2 s", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rtbench-orphans-"));
    const file = join(dir, "stalled.yaml");
    await writeFile(
      file,
      [
        "name: stalled",
        "protocols: [websocket]",
        "server: { heartbeatInterval: 1s }",
        "clients: { count: 10, channels: 2, rampUp: 200ms, shards: 2 }",
        "duration: 60s",
        "warmup: 0s",
        "drain: 1s",
        "faults: [{ at: 1s, action: stall, instance: 0, for: 50s }]",
        "",
      ].join("\n"),
    );
    const { cli, output } = spawnCli(["run", file, "--out", dir]);
    try {
      // The server instance and two shards: three node children of rtbench.
      const children = await waitFor("a server and two shards", () => {
        const direct = descendantsOf(cli.pid as number).filter((pid) => commandOf(pid) === "node");
        return direct.length >= 3 ? direct : undefined;
      });
      const stalled = await waitFor("the stalled instance", () =>
        children.find((pid) => processTable().get(pid)?.[1] === "T"),
      );
      expect(output(), output()).not.toMatch(/^error:/m);
      const descendants = descendantsOf(cli.pid as number);
      expect(descendants).toContain(stalled);
      expect(await killAndCheck(cli, descendants)).toEqual([]);
    } finally {
      cli.kill("SIGKILL");
    }
  });

  it("a stalled target's whole group (SIGSTOPped) is gone within 2 s", async () => {
    // What a stall fault does to a commanded target (scope "tree"): the
    // group is stopped, its lifeline watcher woken again by the supervisor.
    const supervisor = compiledEntry("src/util/supervisor.js");
    const script = [
      `const { supervise } = await import(${JSON.stringify(supervisor)});`,
      "const child = await supervise({ name: 'target', command: '/bin/sh',",
      "  args: ['-c', 'echo up; sleep 300 & sleep 300'], readyLine: /^up$/, scope: 'tree' });",
      "child.pause();",
      "console.log('group ' + child.handle.pid);",
      "setTimeout(() => {}, 60_000);",
    ].join("\n");
    const holder = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    holder.stdout?.setEncoding("utf8").on("data", (d: string) => (text += d));
    let group: number | undefined;
    try {
      group = await waitFor("the stalled group", () => {
        const found = /^group (\d+)$/m.exec(text);
        return found ? Number(found[1]) : undefined;
      });
      const members = descendantsOf(holder.pid as number);
      // The shell, or the sleeps it started if it got that far before the stop.
      expect(members.filter((pid) => processTable().get(pid)?.[1] === "T").length).toBeGreaterThan(
        0,
      );
      expect(await killAndCheck(holder, members)).toEqual([]);
      expect(groupAlive(group)).toBe(false);
    } finally {
      holder.kill("SIGKILL");
      // Should the check fail, the stopped group is not left on the machine.
      if (group !== undefined && signalGroup(group, "SIGCONT")) signalGroup(group, "SIGKILL");
    }
  });
});
