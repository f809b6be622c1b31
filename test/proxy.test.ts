import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { nginxConfig } from "../src/proxy/configs.js";
import { parseScenario } from "../src/scenario/load.js";
import type { ProxyKind } from "../src/scenario/types.js";
import { describeProxy } from "./helpers/proxy.js";

/**
 * A real nginx and a real HAProxy started by rtbench in front of the
 * reference instances (server.proxy).
 */
const CLIENTS = 20;
const CHANNELS = 10;

function proxied(proxy: string, rest: string, rate = "20/s", heartbeat = "2s") {
  return parseScenario(
    `
name: proxy-test
server:
  instances: 2
  broker: memory
  routing: sticky
  heartbeatInterval: ${heartbeat}
  proxy: ${proxy}
clients: { count: ${CLIENTS}, channels: ${CHANNELS}, rampUp: 200ms, shards: 1 }
publish: { rate: ${rate} }
${rest}
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
    expect(p.connected, name).toBe(CLIENTS);
    expect(p.published, name).toBeGreaterThan(10);
    expect(p.publishFailed, name).toBe(0);
    expect(p.expected, name).toBe(p.published * (CLIENTS / CHANNELS));
    expect(p.delivered, name).toBe(p.expected);
    expect(p.lost, name).toBe(0);
    expect(p.duplicates, name).toBe(0);
  }
}

/**
 * Open connections per instance, read from each instance's /metrics while
 * the run goes on; the instances' addresses come from the proxy's start line.
 */
function watchInstances(transport: string) {
  const peaks = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const poll = async (addresses: string[]) => {
    for (const address of addresses) {
      try {
        const text = await (await fetch(`http://${address}/metrics`)).text();
        const line = new RegExp(`^rtbench_connections\\{transport="${transport}"\\} (\\d+)$`, "m");
        const open = Number(line.exec(text)?.[1] ?? 0);
        peaks.set(address, Math.max(peaks.get(address) ?? 0, open));
      } catch {
        // between runs the instances are gone
      }
    }
  };
  return {
    peaks,
    log(line: string) {
      const started = /proxy on port \d+ in front of (.+)$/.exec(line);
      if (started === null) return;
      const addresses = (started[1] as string).split(", ");
      clearInterval(timer);
      timer = setInterval(() => void poll(addresses), 200);
    },
    stop: () => clearInterval(timer),
  };
}

for (const kind of ["nginx", "haproxy"] as ProxyKind[]) {
  describeProxy(kind, `a real ${kind} in front of the reference instances`, () => {
    it("passes every transport exactly, each channel's clients and publisher hashed to one instance", async () => {
      // routing sticky (above): the instances share nothing, so a subscriber the
      // proxy sent elsewhere than its channel's publishes would get nothing.
      const watch = watchInstances("sse");
      const result = await runScenario(
        proxied(
          `{ kind: ${kind}, balance: hash-channel }`,
          `protocols: [short-poll, long-poll, sse, websocket]
duration: 1s
warmup: 200ms
drain: 1500ms`,
        ),
        { log: watch.log },
      );
      watch.stop();
      expectExact(result);
      // The hash spread the 10 channels' SSE streams over both instances of
      // the SSE run (each protocol's run has instances of its own), 2 clients per channel.
      const peaks = [...watch.peaks.values()].filter((open) => open > 0);
      expect(peaks).toHaveLength(2);
      expect(peaks.reduce((a, b) => a + b, 0)).toBe(CLIENTS);
      for (const open of peaks) expect(open % (CLIENTS / CHANNELS)).toBe(0);
      expect(result.protocols.sse?.proxy?.kind).toBe(kind);
      // Sampled (a short window may round HAProxy's CPU down to 0 clock ticks).
      expect(result.protocols.sse?.proxy?.cpuSecondsPer1kDeliveries).toBeGreaterThanOrEqual(0);
      expect(leftoverProxies()).toEqual([]);
    }, 60_000);
  });
}

describeProxy("nginx", "nginx's settings, measured through it", () => {
  it("cuts idle streams and WebSockets below the heartbeat interval, and resume loses nothing", async () => {
    // Heartbeats every 5 s, the proxy gives up after 600 ms of silence; the
    // publisher's 10/s over 10 channels leaves each channel quiet for 1 s.
    // The warmup gives every client a message, hence a cursor to resume
    // from, before the window: a client cut before its first message has
    // none, and what was published meanwhile is lost to it.
    const result = await runScenario(
      proxied(
        "{ kind: nginx, balance: hash-channel, idleTimeout: 600ms }",
        `protocols: [sse, websocket]
reconnect: { initialDelay: 50ms, maxDelay: 200ms, resume: true }
duration: 3500ms
warmup: 1500ms
drain: 1200ms`,
        "10/s",
        "5s",
      ),
    );
    expect(result.error).toBeUndefined();
    for (const [name, p] of Object.entries(result.protocols) as [string, ProtocolResult][]) {
      expect(p.breaks, name).toBeGreaterThanOrEqual(CLIENTS);
      expect(p.expected, name).toBeGreaterThan(0);
      expect(p.delivered, name).toBe(p.expected);
      expect(p.lost, name).toBe(0);
      expect(p.duplicates, name).toBe(0);
    }
  }, 60_000);

  it("buffers streams with buffering on (X-Accel-Buffering ignored) and still delivers every event", async () => {
    const result = await runScenario(
      proxied(
        "{ kind: nginx, balance: hash-channel, buffering: on }",
        `protocols: [sse]
duration: 1s
warmup: 200ms
drain: 1500ms`,
      ),
    );
    expectExact(result);
  }, 60_000);
});

it("tells nginx to buffer streams even though the reference server asks it not to", () => {
  const base = { port: 1, upstreams: ["127.0.0.1:2"], dir: "/tmp/x", asRoot: false };
  const options = {
    kind: "nginx",
    balance: "round-robin",
    idleTimeoutMs: 1000,
    tls: false,
  } as const;
  const on = nginxConfig({ ...base, options: { ...options, buffering: true } });
  const off = nginxConfig({ ...base, options: { ...options, buffering: false } });
  // Without proxy_ignore_headers the server's X-Accel-Buffering: no switches buffering off again.
  expect(on).toMatch(/proxy_buffering on;\n\s*proxy_ignore_headers X-Accel-Buffering;/);
  expect(off).toMatch(/proxy_buffering off;/);
  expect(off).not.toMatch(/proxy_ignore_headers/);
});
