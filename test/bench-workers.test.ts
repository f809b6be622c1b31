/**
 * The anchors benchmark's subscriber workers still run against this version
 * of the fleet and the reference server, and count every delivery. CI does
 * not run benchmarks, so a change that broke them (a fleet option they do
 * not pass, say) would otherwise go unseen until the next `npm run bench`.
 * Small: 20 subscribers, 20 messages; the real sizes are the benchmark's.
 */
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
}

// Plain JavaScript outside the typed tree: imported by URL, typed by the interface above.
const LIB_URL = new URL("../bench/anchors/lib.js", import.meta.url).href;

describe("anchors benchmark workers", () => {
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
});
