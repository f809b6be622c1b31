import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult, RunResult } from "../src/metrics/types.js";
import { haproxyConfig, nginxConfig } from "../src/proxy/configs.js";
import { startProxy } from "../src/proxy/proxy.js";
import { parseScenario } from "../src/scenario/load.js";
import type { ProxyKind } from "../src/scenario/types.js";
import { RtbenchError } from "../src/shared/errors.js";
import { runRtbench } from "./helpers/cli.js";
import { leftoverProcesses, ownScratchRoot } from "./helpers/leftovers.js";
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

/** Where this file's runs make their scratch directories (see helpers/leftovers.ts). */
const scratchRoot = ownScratchRoot("rtbench-proxy-test-");

/** Proxy processes of this file's runs still alive (their config lives in a run's scratch directory). */
function leftoverProxies(): string[] {
  return leftoverProcesses(/rtbench-proxy-/, scratchRoot);
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

/**
 * A short run of `protocols` through `proxy` (its YAML, then any further
 * server lines), exact, where every TLS connection a subscriber opened was
 * handshaken and timed apart from TCP.
 */
async function exactOverTls(proxy: string, protocols: string, log?: (line: string) => void) {
  const result = await runScenario(
    proxied(
      proxy,
      `protocols: [${protocols}]\nsseH2: { streamsPerConnection: 5 }\nduration: 1s\nwarmup: 200ms\ndrain: 1500ms`,
    ),
    { log },
  );
  expectExact(result);
  expectHandshakes(result);
  return result;
}

function expectHandshakes(result: RunResult): void {
  for (const [name, p] of Object.entries(result.protocols) as [string, ProtocolResult][]) {
    const handshakes = p.tlsFullHandshakes + p.tlsResumedHandshakes;
    expect(handshakes, name).toBeGreaterThan(0);
    expect(p.tlsHandshake?.count, name).toBe(handshakes);
    expect(p.tlsHandshake?.min, name).toBeGreaterThan(0);
  }
}

describeProxy("nginx", "TLS terminated at nginx, plaintext instances behind it", () => {
  it("passes every transport exactly over TLS, sse-h2 as HTTP/2 by ALPN", async () => {
    // The instances' /metrics answer plain HTTP: the proxy alone speaks TLS.
    const watch = watchInstances("sse");
    const result = await exactOverTls(
      "{ kind: nginx, balance: hash-channel, tls: true }",
      "short-poll, long-poll, sse, sse-h2, websocket",
      watch.log,
    );
    watch.stop();
    // sse's 20 streams and sse-h2's 20, which nginx passes on as HTTP/1.1 SSE.
    expect([...watch.peaks.values()].reduce((a, b) => a + b, 0)).toBe(2 * CLIENTS);
    // HTTP/2 between the clients and nginx: 5 streams share each TLS connection.
    expect(result.protocols["sse-h2"]?.tcpConnections).toBe(CLIENTS / 5);
    expect(leftoverProxies()).toEqual([]);
  }, 60_000);
});

/**
 * Three runs side by side: they take the time of the longest, not the sum. None looks for
 * leftover proxy processes (the tests above do, and they run alone), and what they assert
 * is counts, or latencies 50 ms from their bounds, which a busy machine does not move.
 */
describe.concurrent("proxy runs side by side", () => {
  describeProxy("haproxy", "TLS at HAProxy re-encrypted to TLS instances (server.tls)", () => {
    it("passes SSE and WebSocket exactly, verifying the instances with the run's CA", async () => {
      // The server line after the proxy's: the instances serve TLS too.
      await exactOverTls(
        "{ kind: haproxy, balance: hash-channel, tls: true }\n  tls: true",
        "sse, websocket",
      );
    }, 60_000);
  });

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
  });

  describeProxy("haproxy", "HAProxy's buffering, measured through it", () => {
    it("holds streamed events up to the kernel's 200 ms with buffering on, and not with off", async () => {
      const p50 = async (buffering: string) => {
        const result = await runScenario(
          proxied(
            `{ kind: haproxy, balance: hash-channel, buffering: "${buffering}" }`,
            `protocols: [sse]
duration: 1500ms
warmup: 300ms
drain: 1s`,
          ),
        );
        expectExact(result);
        return result.protocols.sse?.latency.p50 as number;
      };
      // MSG_MORE on each streamed chunk lets the kernel wait up to 200 ms for
      // more; option http-no-delay (off) sends at once. The margins are wide:
      // a busy machine moves milliseconds, not this timer.
      expect(await p50("on")).toBeGreaterThan(150);
      expect(await p50("off")).toBeLessThan(100);
    }, 60_000);
  });
});

it("tells nginx to buffer streams even though the reference server asks it not to", () => {
  const base = { port: 1, upstreams: ["127.0.0.1:2"], dir: "/tmp/x", asRoot: false };
  const options = {
    kind: "nginx",
    balance: "round-robin",
    idleTimeoutMs: 1000,
    blockUpgrade: false,
    tls: false,
  } as const;
  const on = nginxConfig({ ...base, options: { ...options, buffering: true } });
  const off = nginxConfig({ ...base, options: { ...options, buffering: false } });
  // Without proxy_ignore_headers the server's X-Accel-Buffering: no switches buffering off again.
  expect(on).toMatch(/proxy_buffering on;\n\s*proxy_ignore_headers X-Accel-Buffering;/);
  expect(off).toMatch(/proxy_buffering off;/);
  expect(off).not.toMatch(/proxy_ignore_headers/);
});

it("tells both proxies to serve TLS and to verify TLS instances with the run's CA", () => {
  const input = {
    port: 1,
    upstreams: ["127.0.0.1:2"],
    dir: "/tmp/x",
    asRoot: false,
    options: {
      kind: "nginx",
      balance: "round-robin",
      buffering: false,
      idleTimeoutMs: 1000,
      blockUpgrade: false,
      tls: true,
    },
    front: { cert: "/t/cert.pem", key: "/t/key.pem", pem: "/x/front.pem" },
    upstreamCa: "/t/ca.pem",
  } as const;
  const nginx = nginxConfig(input);
  expect(nginx).toMatch(/listen 127\.0\.0\.1:1 backlog=4096 ssl http2;/);
  expect(nginx).toMatch(/proxy_pass https:\/\/rtbench_instances;/);
  expect(nginx).toMatch(/proxy_ssl_verify on;\n\s*proxy_ssl_trusted_certificate \/t\/ca\.pem;/);
  const haproxy = haproxyConfig(input);
  expect(haproxy).toMatch(/bind 127\.0\.0\.1:1 ssl crt \/x\/front\.pem alpn h2,http\/1\.1/);
  expect(haproxy).toMatch(
    /server instance0 127\.0\.0\.1:2 ssl verify required ca-file \/t\/ca\.pem/,
  );
  // Without server.tls the instances are plain HTTP behind the proxy.
  expect(nginxConfig({ ...input, upstreamCa: null })).toMatch(
    /proxy_pass http:\/\/rtbench_instances;/,
  );
});

for (const kind of ["nginx", "haproxy"] as ProxyKind[]) {
  describeProxy(kind, `${kind} with blockUpgrade`, () => {
    it("refuses WebSocket upgrades with 403 and passes plain requests", async () => {
      const upstream = createServer((_req, res) => res.end("plain"));
      upstream.on("upgrade", (_req, socket) =>
        socket.end("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
      );
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      const { port } = upstream.address() as AddressInfo;
      const proxy = await startProxy(
        {
          kind,
          balance: "round-robin",
          buffering: false,
          idleTimeoutMs: 5000,
          blockUpgrade: true,
          tls: false,
        },
        [`http://127.0.0.1:${port}`],
      );
      try {
        const plain = await fetch(`${proxy.url}/api/stream/a`);
        expect(plain.status).toBe(200);
        expect(await plain.text()).toBe("plain");
        const upgrade = await rawRequest(
          proxy.url,
          "GET /ws/chat/a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        );
        expect(upgrade).toMatch(/^HTTP\/1\.[01] 403 /);
        // The leftover check sees this file's proxy while it runs (it is not vacuous).
        expect(leftoverProxies().length).toBeGreaterThan(0);
      } finally {
        await proxy.stop();
        upstream.close();
      }
    }, 20_000);
  });
}

/** The first line of what `base` answers to `request`, sent as is over TCP. */
async function rawRequest(base: string, request: string): Promise<string> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  socket.write(request);
  let text = "";
  for await (const chunk of socket) {
    text += String(chunk);
    if (text.includes("\r\n")) break;
  }
  socket.destroy();
  return text.split("\r\n")[0] as string;
}

describe("server.proxy settings that cannot run", () => {
  /** The problem lines parsing `text` reports (fails the test when it parses). */
  function problemsOf(text: string): string[] {
    try {
      parseScenario(text, "proxy.yaml");
    } catch (error) {
      if (error instanceof RtbenchError) return error.details;
      throw error;
    }
    throw new Error(`expected a problem with:\n${text}`);
  }

  it.each([
    [
      "sse-h2 behind a proxy without TLS",
      "protocols: [sse-h2]\nserver: { proxy: { kind: nginx } }",
      "server.proxy.tls: expected true with sse-h2 behind a proxy",
    ],
    [
      "sticky instances behind a proxy that does not hash the channel",
      "server: { instances: 2, routing: sticky, proxy: { kind: nginx, balance: least-conn } }",
      "server.proxy.balance: expected hash-channel with routing sticky and 2 instances",
    ],
    [
      "a proxy in front of a target",
      "target: http://127.0.0.1:9\nserver: { proxy: { kind: nginx } }",
      "server: expected no server section when target is set: server.proxy goes in front of the reference instances only",
    ],
    [
      "no kind",
      "server: { proxy: { balance: least-conn } }",
      "server.proxy.kind: expected nginx or haproxy, found nothing",
    ],
    [
      "an unknown kind",
      "server: { proxy: { kind: envoy } }",
      'server.proxy.kind: expected one of nginx, haproxy, found "envoy"',
    ],
  ])("%s", (_what, text, line) => {
    const details = problemsOf(`name: p\n${text}\n`);
    expect(
      details.some((d) => d.startsWith(line)),
      details.join("\n"),
    ).toBe(true);
  });

  it("a variant's proxy settings are merged over the top-level proxy, field by field", () => {
    const scenario = parseScenario(
      `name: p
server: { proxy: { kind: nginx, idleTimeout: 5s } }
variants:
  - { name: buffered, server: { proxy: { buffering: "on" } } }
  - { name: plain, server: {} }
`,
      "proxy.yaml",
    );
    expect(scenario.variants.map((v) => v.server.proxy)).toEqual([
      {
        kind: "nginx",
        balance: "round-robin",
        buffering: true,
        idleTimeoutMs: 5000,
        blockUpgrade: false,
        tls: false,
      },
      {
        kind: "nginx",
        balance: "round-robin",
        buffering: false,
        idleTimeoutMs: 5000,
        blockUpgrade: false,
        tls: false,
      },
    ]);
  });

  it("exits 2 with one line naming the setting", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rtbench-proxy-cli-"));
    try {
      const file = join(dir, "h2.yaml");
      await writeFile(file, "name: p\nprotocols: [sse-h2]\nserver: { proxy: { kind: haproxy } }\n");
      const { code, stderr } = await runRtbench(["validate", file]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/server\.proxy\.tls: expected true with sse-h2 behind a proxy/);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
