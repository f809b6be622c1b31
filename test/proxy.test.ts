import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import type { ProxyKind } from "../src/scenario/types.js";
import { describeProxy } from "./helpers/proxy.js";

/**
 * A real nginx and a real HAProxy started by rtbench in front of the
 * reference instances (server.proxy): every transport through each, exact.
 */
function proxied(proxy: string, extra = "", server = "") {
  return parseScenario(
    `
name: proxy-test
server:
  instances: 2
  broker: memory
  routing: sticky
  heartbeatInterval: 2s
  proxy: ${proxy}
${server}
clients: { count: 20, channels: 4, rampUp: 300ms, shards: 1 }
publish: { rate: 20/s }
duration: 2s
warmup: 500ms
drain: 1500ms
${extra}
`,
    "proxy-test.yaml",
  );
}

/** Proxy processes of a run still alive (their config lives in a run's scratch directory). */
function leftoverProxies(): string[] {
  const lines = execFileSync("ps", ["-eo", "stat=,args="], { encoding: "utf8" }).split("\n");
  return lines.filter((line) => /rtbench-proxy-/.test(line) && !/^Z/.test(line));
}

function expectExact(result: RunResult): void {
  expect(result.error).toBeUndefined();
  for (const [name, p] of Object.entries(result.protocols) as [string, ProtocolResult][]) {
    expect(p.connected, name).toBe(20);
    expect(p.published, name).toBeGreaterThan(20);
    expect(p.expected, name).toBe(p.published * 5);
    expect(p.delivered, name).toBe(p.expected);
    expect(p.lost, name).toBe(0);
    expect(p.duplicates, name).toBe(0);
  }
}

for (const kind of ["nginx", "haproxy"] as ProxyKind[]) {
  describeProxy(kind, `a real ${kind} in front of the reference instances`, () => {
    it("passes every transport exactly, a channel's clients and publisher hashed to one instance", async () => {
      // routing sticky: the instances share nothing, so only the proxy's hash
      // on the channel (subscribers and publisher alike) delivers anything.
      const result = await runScenario(
        proxied(
          `{ kind: ${kind}, balance: hash-channel }`,
          "protocols: [short-poll, long-poll, sse, websocket]",
        ),
      );
      expectExact(result);
      expect(leftoverProxies()).toEqual([]);
    }, 60_000);
  });
}
