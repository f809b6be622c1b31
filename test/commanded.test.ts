import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCommandedServers } from "../src/load/servers/commanded.js";
import { type ServerSet, sampleServers } from "../src/load/servers/servers.js";
import type { TargetCommand } from "../src/scenario/types.js";
import { RtbenchError } from "../src/shared/errors.js";
import { lifelineWatchers } from "../src/util/children.js";
import { groupAlive, sampleProcessGroups } from "../src/util/proc.js";

/**
 * Servers started from a command: real processes in their own groups, a
 * real HTTP server answering the health check, real signals.
 */
let dir: string;
let serverJs: string;
let template: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtbench-commanded-"));
  serverJs = join(dir, "server.js");
  // Answers /healthz with the rendered template: what the instance was given.
  await writeFile(
    serverJs,
    `const [port, file] = process.argv.slice(2);
require("node:http").createServer((req, res) => {
  res.end(require("node:fs").readFileSync(file, "utf8"));
}).listen(Number(port), "127.0.0.1");`,
  );
  template = join(dir, "info.txt");
  await writeFile(template, "port={port} instance={instance} dir={dir}");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function command(line: string, extra: Partial<TargetCommand> = {}): TargetCommand {
  return {
    line,
    instances: 1,
    origin: "http://127.0.0.1",
    basePort: null,
    health: "/healthz",
    startTimeoutMs: 10_000,
    files: [template],
    scenarioDir: dir,
    needsRedis: false,
    ...extra,
  };
}

async function start(line: string, extra: Partial<TargetCommand> = {}): Promise<ServerSet> {
  return startCommandedServers({ command: command(line, extra), placeholders: {}, log: () => {} });
}

/** The state letters of the group's live processes (of `only`, when given). */
async function statesOf(group: number, only?: readonly number[]): Promise<string[]> {
  const { readdir } = await import("node:fs/promises");
  const states: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || (only !== undefined && !only.includes(Number(entry)))) continue;
    const text = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === group && fields[0] !== "Z") states.push(fields[0] as string);
  }
  return states;
}

describe("servers started from target.command", () => {
  it("fills the placeholders, samples, stalls and stops the whole process group", async () => {
    // A server beside a helper process, as nginx runs workers beside its master.
    const set = await start(`sleep 300 & node ${serverJs} {port} {dir}/info.txt`, {
      instances: 2,
    });
    try {
      const answers = await Promise.all(
        set.urls.map(async (url) => (await fetch(`${url}/healthz`)).text()),
      );
      answers.forEach((answer, i) => {
        const port = new URL(set.urls[i] as string).port;
        expect(answer).toMatch(new RegExp(`^port=${port} instance=${i} dir=/.*/instance-${i}$`));
      });
      const group = set.instances[0]?.pid as number;
      const samples = sampleProcessGroups([group]);
      expect(samples?.get(group)?.processes).toBeGreaterThanOrEqual(3);
      expect((await sampleServers(set))?.rssBytes).toBeGreaterThan(10_000_000);

      set.pause(0);
      // Every process of the group stopped but its lifeline watcher, kept
      // awake to stop the group should rtbench die during the stall.
      const watchers = lifelineWatchers(group);
      expect(watchers).toHaveLength(1);
      const states = await statesOf(group);
      expect(states.filter((state) => state === "T")).toHaveLength(states.length - 1);
      expect(await statesOf(group, watchers)).not.toContain("T");
      set.resume(0);
      expect(await statesOf(group)).not.toContain("T");

      await set.kill(0);
      expect(groupAlive(group)).toBe(false);
      await set.start(0);
      expect((await fetch(`${set.urls[0]}/healthz`)).ok).toBe(true);
      expect(set.instances[0]?.pid).not.toBe(group);
    } finally {
      const groups = set.instances.map((handle) => handle.pid);
      await set.stop();
      for (const group of groups) expect(groupAlive(group)).toBe(false);
    }
  }, 30_000);

  it("refuses a port someone else listens on, naming it", async () => {
    const other: Server = createServer();
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const port = (other.address() as { port: number }).port;
    try {
      await expect(
        start(`node ${serverJs} {port} {dir}/info.txt`, { basePort: port }),
      ).rejects.toThrow(`port ${port} is in use by another process`);
    } finally {
      other.close();
    }
  });

  it("fails with the command's own words when it exits, and on a health check that never passes", async () => {
    const exited = start("echo 'no such config' >&2; exit 3");
    await expect(exited).rejects.toBeInstanceOf(RtbenchError);
    await expect(exited).rejects.toThrow(
      /exited with code 3 before a 2xx answer from http:\/\/127\.0\.0\.1:\d+\/healthz: no such config/,
    );
    await expect(start("sleep 30", { startTimeoutMs: 800 })).rejects.toThrow(
      /\(sleep 30\) had no 2xx answer from http:\/\/127\.0\.0\.1:\d+\/healthz within 800 ms/,
    );
  }, 20_000);
});
