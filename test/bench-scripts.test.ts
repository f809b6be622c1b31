/**
 * The benchmark scripts that drive rtbench's own modules still run against
 * this version: the anchors' subscriber workers count every delivery, the
 * memory and receive-path benchmarks finish. CI does not run benchmarks, so
 * a change that broke them (a fleet option they do not pass, a renamed
 * client method) would otherwise go unseen until the next `npm run bench`.
 * Small sizes; the real ones are the benchmarks'.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

interface AnchorServer {
  url: string;
  wsTemplate: string;
  stop(): Promise<void>;
}
interface AnchorWorker {
  start(): void;
  stop(): Promise<{ received: number; cpuMs: number }>;
  done(): Promise<void>;
}
interface AnchorLib {
  startServer(kind: "reference"): Promise<AnchorServer>;
  startWorker(script: string, args: string[]): Promise<AnchorWorker>;
  publishFor(
    server: AnchorServer,
    channels: number,
    ratePerSec: number,
    seconds: number,
  ): Promise<{ published: number; failed: number }>;
  runJson(core: number | null, script: string, args: string[]): Promise<Record<string, number>>;
}

// Plain JavaScript outside the typed tree: imported by URL, typed by the interface above.
const LIB_URL = new URL("../bench/anchors/lib.js", import.meta.url).href;

describe("benchmark scripts", () => {
  const workers: Array<[string, (server: AnchorServer) => string[]]> = [
    ["bench/anchors/rtbench-subscribers.js", (server) => [server.url, "20", "2"]],
    ["bench/anchors/ws-subscribers.js", (server) => [server.wsTemplate, "20", "2"]],
  ];
  for (const [script, args] of workers) {
    it(`${script} receives every message the reference server delivers`, async () => {
      const lib = (await import(LIB_URL)) as AnchorLib;
      const server = await lib.startServer("reference");
      try {
        const worker = await lib.startWorker(script, args(server));
        worker.start();
        // 20 messages/s over 2 channels for 1 s: 10 per channel, each to 10 subscribers.
        const published = await lib.publishFor(server, 2, 20, 1);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const result = await worker.stop();
        await worker.done();
        expect(published).toEqual({ published: 20, failed: 0 });
        expect(result.received).toBe(200);
        expect(result.cpuMs).toBeGreaterThan(0);
      } finally {
        await server.stop();
      }
    }, 60_000);
  }

  it("bench/anchors/bare-publisher.js sends its whole schedule, and every message is delivered", async () => {
    const lib = (await import(LIB_URL)) as AnchorLib;
    const server = await lib.startServer("reference");
    try {
      const worker = await lib.startWorker("bench/anchors/ws-subscribers.js", [
        server.wsTemplate,
        "20",
        "2",
      ]);
      worker.start();
      // 20 messages/s over 2 channels, 0.5 s of warm-up and a 1 s window: 30 messages, each to 10 subscribers.
      const bare = await lib.runJson(null, "bench/anchors/bare-publisher.js", [
        server.url,
        "2",
        "20",
        "0.5",
        "1",
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result = await worker.stop();
      await worker.done();
      expect(bare).toMatchObject({ published: 30, failed: 0, windowPublished: 20 });
      expect(bare.cpuMs).toBeGreaterThan(0);
      expect(result.received).toBe(300);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("bench/client-memory.js connects its fleets and reports a cost per client", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", "bench/client-memory.js", "500", "websocket"],
      { cwd: new URL("..", import.meta.url).pathname, timeout: 60_000 },
    );
    const [row] = JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as Array<{
      connections: number;
      rssKBPerClient: number;
    }>;
    expect(row?.connections).toBe(500);
    expect(Number.isFinite(row?.rssKBPerClient)).toBe(true);
  }, 90_000);

  for (const [script, args] of [
    ["bench/client-receive.js", ["2000", "1"]],
    ["bench/fleet-receive.js", ["100", "10", "1"]],
  ] as const) {
    it(`${script} runs against this version's clients and fleet`, async () => {
      const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], {
        cwd: new URL("..", import.meta.url).pathname,
        timeout: 60_000,
      });
      expect(stdout).toMatch(/median \d+ ns CPU\/message/);
    }, 90_000);
  }
});
