import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../src/util/net.js";
import { compiledEntry, packageRoot } from "../src/util/paths.js";
import { itRedis } from "./helpers/redis.js";
import { WsCollector } from "./server-helpers.js";

const BIN = join(packageRoot, "bin", "rtbench.js");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Two free ports in a row, so that `--port p --instances 2` can listen on both. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await isFree(port + 1))) return port;
  }
  throw new Error("no two consecutive free ports found");
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function collectOutput(child: ChildProcess) {
  const output = { stdout: "", stderr: "" };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output.stderr += chunk;
  });
  return output;
}

/** Waits until `read()` matches `pattern`, failing early if `child` exits. */
async function waitForOutput(
  child: ChildProcess,
  read: () => string,
  pattern: RegExp,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = read().match(pattern);
    if (match) return match;
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`expected output matching ${pattern}, found: ${read()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("rtbench serve", () => {
  it("starts N instances, and SIGTERM leaves no process behind", async () => {
    const port = await freePortPair();
    const cli = spawn(
      process.execPath,
      [BIN, "serve", "--port", String(port), "--instances", "2"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const output = collectOutput(cli);
    const exited = once(cli, "exit") as Promise<[number | null, string | null]>;
    try {
      await waitForOutput(cli, () => output.stdout, /^(http:\S+\n){2}$/);
      const urls = output.stdout.trim().split("\n");
      expect(urls).toEqual([`http://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`]);

      const pids: number[] = [];
      for (const [index, url] of urls.entries()) {
        const health = (await (await fetch(`${url}/healthz`)).json()) as {
          status: string;
          pid: number;
          instance: string;
        };
        expect(health).toMatchObject({ status: "ok", instance: `instance-${index + 1}` });
        expect(health.pid).not.toBe(cli.pid);
        pids.push(health.pid);
      }
      expect(new Set(pids).size).toBe(2);
      expect(pids.every(isAlive)).toBe(true);

      cli.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
      expect(output.stderr).not.toMatch(/at .*\.js:\d+/);
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
    }
  });

  it("--presence-ttl and the other flags reach the instance: /healthz shows them", async () => {
    const cli = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--port",
        "0",
        "--presence-ttl",
        "7s",
        "--heartbeat-interval",
        "2s",
        "--history-max-count",
        "50",
        "--history-max-age",
        "1m",
        "--max-body-bytes",
        "4096",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const output = collectOutput(cli);
    const exited = once(cli, "exit") as Promise<[number | null]>;
    try {
      const [, url] = await waitForOutput(cli, () => output.stdout, /^(http:\S+)\n$/);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { settings: unknown };
      expect(health.settings).toEqual({
        instanceId: "instance-1",
        broker: "memory",
        heartbeatIntervalMs: 2000,
        presenceTtlMs: 7000,
        history: { maxCount: 50, maxAgeMs: 60_000 },
        maxBodyBytes: 4096,
        deliveryDelayMs: 0,
        // serve has no flags for the limits: the server's defaults.
        limits: expect.objectContaining({ maxBodyDepth: 64, writeTimeoutMs: 10_000 }),
        h2: { maxStreams: 100, idleTimeoutMs: 30_000 },
        // serve's instances share their broker; fan-out and presence events keep their defaults.
        routing: "pubsub",
        fanout: "write",
        presenceEvents: false,
        presenceBatchMs: 1000,
      });
      cli.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
    }
  });

  it("bad flags exit with code 2 and a one-line reason, starting nothing", async () => {
    const cli = spawn(process.execPath, [BIN, "serve", "--instances", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = collectOutput(cli);
    const [code] = (await once(cli, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(output.stderr).toMatch(/--instances: expected an integer from 1 to 64, found "0"/);
    expect(output.stdout).toBe("");
  });

  it("one instance process closes WebSockets with 1001 and exits 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [compiledEntry("reference-server/main.js"), "--port", "0"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const output = collectOutput(child);
    const exited = once(child, "exit") as Promise<[number | null]>;
    try {
      const match = await waitForOutput(
        child,
        () => output.stdout,
        /^rtbench-server listening (http:\/\/\S+)\n$/,
      );
      const url = match[1] as string;
      const ws = await WsCollector.open(`${url.replace("http", "ws")}/ws/chat/bye`);
      child.kill("SIGTERM");
      expect(await ws.waitForClose()).toBe(1001);
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  itRedis(
    "--broker redis starts its own redis-server, shares messages, and stops it too",
    async () => {
      const port = await freePortPair();
      const cli = spawn(
        process.execPath,
        [BIN, "serve", "--port", String(port), "--instances", "2", "--broker", "redis"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const output = collectOutput(cli);
      const exited = once(cli, "exit") as Promise<[number | null]>;
      try {
        await waitForOutput(cli, () => output.stdout, /^(http:\S+\n){2}$/);
        const redisPid = Number(
          (await waitForOutput(cli, () => output.stderr, /redis-server \(pid (\d+)\)/))[1],
        );
        const [first, second] = output.stdout.trim().split("\n") as [string, string];
        const published = await fetch(`${first}/api/messages`, {
          method: "POST",
          body: JSON.stringify({ channel: "shared", body: { from: "first" } }),
        });
        expect(published.status).toBe(201);
        const answer = (await (
          await fetch(`${second}/api/messages?channel=shared&since=0`)
        ).json()) as { messages: Array<{ id: number; body: unknown }> };
        expect(answer.messages).toMatchObject([{ id: 1, body: { from: "first" } }]);
        const health = (await (await fetch(`${second}/healthz`)).json()) as { pid: number };
        expect(health).toMatchObject({ broker: "redis" });

        cli.kill("SIGTERM");
        const [code] = await exited;
        expect(code).toBe(0);
        expect([health.pid, redisPid].filter(isAlive)).toEqual([]);
      } finally {
        if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
      }
    },
  );
});

describe("rtbench serve stops", () => {
  async function serveAndStop(stop: (cli: ChildProcess) => void, env: NodeJS.ProcessEnv = {}) {
    const cli = spawn(process.execPath, [BIN, "serve", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    const output = collectOutput(cli);
    const exited = once(cli, "exit") as Promise<[number | null]>;
    try {
      const [url] = await waitForOutput(cli, () => output.stdout, /^http:\S+(?=\n)/);
      const { pid } = (await (await fetch(`${url}/healthz`)).json()) as { pid: number };
      stop(cli);
      const [code] = await exited;
      return { code, instance: pid, stderr: output.stderr };
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
    }
  }

  it("on SIGHUP (a closed terminal), with its instance", async () => {
    const { code, instance } = await serveAndStop((cli) => cli.kill("SIGHUP"));
    expect(code).toBe(0);
    expect(isAlive(instance)).toBe(false);
  });

  it("when npx, which does not pass `kill $!` on, exits", async () => {
    // A stand-in for `npx rtbench serve &`: npm's environment, and a parent
    // that dies of SIGTERM without telling its child (what npm exec does).
    const launcher = spawn(
      "/bin/sh",
      ["-c", `"${process.execPath}" "${BIN}" serve --port 0 & wait`],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_execpath: "npm-cli.js" } },
    );
    const output = collectOutput(launcher);
    try {
      const [url] = await waitForOutput(launcher, () => output.stdout, /^http:\S+(?=\n)/);
      const { pid: instance } = (await (await fetch(`${url}/healthz`)).json()) as { pid: number };
      const serve = Number(
        execFileSync("ps", ["-o", "pid=", "--ppid", String(launcher.pid)])
          .toString()
          .trim(),
      );
      expect(isAlive(serve)).toBe(true);
      launcher.kill("SIGKILL");
      const deadline = Date.now() + 5000;
      while ((isAlive(serve) || isAlive(instance)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(isAlive(serve), "rtbench serve outlived npx").toBe(false);
      expect(isAlive(instance), "its instance outlived it").toBe(false);
    } finally {
      launcher.kill("SIGKILL");
    }
  });
});
