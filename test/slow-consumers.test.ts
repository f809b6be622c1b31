import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { renderTable } from "../src/report/table.js";
import { parseScenario } from "../src/scenario/load.js";

/**
 * clients.slow against the reference server, which cuts a client that takes
 * nothing of what it was sent for server.writeTimeout: one client reads at
 * 1 KB/s among fast ones while 60 KB messages go out at 20/s.
 */
describe("slow consumers", () => {
  it("the server cuts the slow client at its write timeout; the fast ones never wait on it", async () => {
    const result = await runScenario(
      parseScenario(
        `
name: slow-consumer
protocols: [websocket]
server: { writeTimeout: 1s }
clients: { count: 4, channels: 1, rampUp: 100ms, slow: { count: 1, down: 1KB/s } }
publish: { rate: 50/s, payloadBytes: 60000 }
duration: 5s
warmup: 300ms
drain: 1s
reconnect: { maxRetries: 0 }
`,
        "slow.yaml",
      ),
    );
    const r = result.protocols.websocket as ProtocolResult;
    const slow = r.slowConsumers;
    expect(slow).toMatchObject({ slowClients: 1, fastClients: 3, fastStuck: 0, cut: 1 });
    expect(slow?.fastWorstMs).toBeLessThan(100);
    // Cut by the server (its write timeout, read from it): the slow client never saw it,
    // the kernel still trickling what it held. Cut once the kernel's buffers were full.
    expect(slow?.firstCutMs).toBeGreaterThan(1000);
    expect(slow?.firstCutMs).toBeLessThan(5000);
    // 60 KB messages at 1 KB/s: not one arrived whole in the window.
    expect(slow?.slowDelivered).toBeLessThan(slow?.slowExpected ?? 0);
    expect(renderTable(result)).toMatch(/fast stuck >100ms +0\/3\n/);
  }, 40_000);
});
