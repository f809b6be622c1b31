import { readFileSync } from "node:fs";
import { createServer as createTlsServer } from "node:tls";
import { describe, expect, it } from "vitest";
import { startReferenceServer } from "../reference-server/index.js";
import { PERFECT_NETWORK, parseBandwidth, profileOf } from "../src/clients/network-profile.js";
import { createHttpPublisher } from "../src/clients/publishers.js";
import { createClient } from "../src/clients/registry.js";
import { ClientNetwork } from "../src/clients/shaped-socket.js";
import { connectSocket, createClientTlsState } from "../src/clients/tls.js";
import { type ClientHandlers, createClientContext } from "../src/clients/types.js";
import { runScenario } from "../src/load/run.js";
import type { ProtocolResult } from "../src/metrics/types.js";
import { parseScenario } from "../src/scenario/load.js";
import { monoMs, sleepUntil } from "../src/util/clock.js";
import { createThrowawayCertificates } from "../src/util/throwaway-ca.js";
import { problemsOf } from "./helpers/scenario-problems.js";
import { waitFor } from "./helpers/wait.js";

/**
 * clients.network through whole runs: the reference server on loopback,
 * real clients whose sockets go through the in-process shaper.
 */

function latencyScenario(protocols: string, network: string) {
  return parseScenario(
    `
name: network-latency
protocols: [${protocols}]
clients: { count: 12, channels: 3, rampUp: 200ms${network} }
publish: { rate: 6/s, payloadBytes: 200 }
duration: 1200ms
warmup: 200ms
drain: 500ms
shortPoll: { interval: 50ms }
longPoll: { timeout: 5s }
`,
    "network.yaml",
  );
}

describe("clients.network: the scenario", () => {
  it("reads a preset, a preset with overrides, fields alone and a mix", () => {
    const read = (network: string) =>
      parseScenario(`clients: { count: 10, network: ${network} }`, "n.yaml").clients.network;
    expect(read("4g")).toEqual([
      {
        fraction: 1,
        profile: {
          name: "4g",
          latencyMs: 75,
          jitterMs: 0,
          downBytesPerSec: 204_800,
          upBytesPerSec: 93_750,
          loss: 0,
          blackhole: null,
        },
      },
    ]);
    const [over] = read("{ profile: 3g, latency: 200ms, loss: 0.01 }") ?? [];
    expect(over?.profile).toMatchObject({
      name: "3g+",
      latencyMs: 200,
      downBytesPerSec: 87_500,
      loss: 0.01,
    });
    const [custom] = read("{ down: 64KB/s, blackhole: { every: 15s, for: 2s } }") ?? [];
    expect(custom?.profile).toMatchObject({
      name: "custom",
      latencyMs: 0,
      downBytesPerSec: 65_536,
      blackhole: { everyMs: 15_000, forMs: 2_000 },
    });
    const mix = read("[{ profile: 4g, fraction: 0.7 }, { profile: 3g, fraction: 0.3 }]") ?? [];
    expect(mix.map((share) => [share.profile.name, share.fraction])).toEqual([
      ["4g", 0.7],
      ["3g", 0.3],
    ]);
    // Dealt out in proportion, and evenly: any hundred consecutive clients hold the mix.
    const names = Array.from({ length: 100 }, (_, i) => profileOf(mix, 500 + i)?.name);
    expect(names.filter((name) => name === "4g").length).toBeGreaterThanOrEqual(69);
    expect(names.filter((name) => name === "4g").length).toBeLessThanOrEqual(71);
  });

  it("bandwidths in bits and bytes", () => {
    expect(parseBandwidth("1.6Mbit/s")).toBe(200_000);
    expect(parseBandwidth("750kbit/s")).toBe(93_750);
    expect(parseBandwidth("1KB/s")).toBe(1024);
    expect(parseBandwidth("0")).toBe(0);
    expect(() => parseBandwidth("fast")).toThrow(/expected a bandwidth like 1.6Mbit\/s/);
  });

  it("refuses clients it cannot shape, fractions over 1 and a blackhole longer than its period, with the reason", () => {
    expect(
      problemsOf(
        "protocols: [sse, sse-h2, websocket]\nsse: { client: eventsource }\nwebsocket: { deflate: on }\nclients: { network: 4g }",
      ),
    ).toEqual([
      "clients.network: expected clients rtbench can shape, found protocol sse: sse.client: eventsource opens its sockets through fetch, which rtbench cannot shape (use sse.client: lean)",
      "clients.network: expected clients rtbench can shape, found protocol sse-h2: sse-h2 carries many clients' streams on one shared connection, so no client has a network of its own",
      "clients.network: expected clients rtbench can shape, found protocol websocket: websocket.deflate: on runs over the ws package, whose sockets rtbench does not shape (use deflate: off, the lean client)",
    ]);
    // socket.io-client's sockets come through the client's own http.Agent, which shapes them.
    expect(
      parseScenario(
        'protocols: [websocket, long-poll]\ntarget: { protocol: socketio, url: "http://127.0.0.1:3000" }\nclients: { network: 3g }',
        "s.yaml",
      ).clients.network?.[0]?.profile.name,
    ).toBe("3g");
    expect(
      problemsOf(
        "clients: { network: [{ profile: 4g, fraction: 0.7 }, { latency: 1s, blackhole: { every: 1s, for: 2s }, fraction: 0.4 }] }",
      ),
    ).toEqual([
      "clients.network: expected fractions that sum to at most 1, found 1.1",
      "clients.network[1].blackhole: expected 0 < for < every, found every 1000 ms and for 2000 ms",
    ]);
    expect(problemsOf("clients: { network: { latency: 1 } }")[0]).toMatch(/^clients\.network/);
  });

  it("reads clients.slow and checks it", () => {
    expect(
      parseScenario("clients: { count: 10, slow: { fraction: 0.1, down: 1KB/s } }", "s.yaml")
        .clients.slow,
    ).toEqual({ count: 0, fraction: 0.1, downBytesPerSec: 1024 });
    expect(
      problemsOf("clients: { count: 10, slow: { count: 2, fraction: 0.1, down: 1KB/s } }"),
    ).toEqual(["clients.slow: expected one of count or fraction, found both"]);
    expect(problemsOf("clients: { count: 10, slow: { count: 10, down: 1KB/s } }")).toEqual([
      "clients.slow.count: expected fewer than clients.count (10), so some clients are fast, found 10",
    ]);
  });

  it("checks a flap's times, and refuses it on clients it cannot shape", () => {
    expect(
      problemsOf(
        "protocols: [websocket, sse-h2]\nfaults:\n  - { at: 1s, action: flap, every: 2s, offlineFor: 3s, fraction: 0.5 }\n  - { at: 1s, action: flap, every: 10s, offlineFor: 2s, jitter: 5s }",
      ),
    ).toEqual([
      'faults[0].offlineFor: expected a duration above 0 and below every (2s), found "3s"',
      "faults[0].action: expected clients rtbench can shape, found protocol sse-h2: sse-h2 carries many clients' streams on one shared connection, so no client has a network of its own",
      'faults[1].jitter: expected at most half of every - offlineFor (4s), so one client\'s outages never overlap, found "5s"',
      "faults[1].action: expected clients rtbench can shape, found protocol sse-h2: sse-h2 carries many clients' streams on one shared connection, so no client has a network of its own",
    ]);
  });
});

describe("clients.network: latency", () => {
  it("a 100 ms one-way profile moves every lean transport's delivery p50 by about 100 ms", async () => {
    const result = await runScenario(
      latencyScenario("short-poll, long-poll, sse, websocket", ", network: { latency: 100ms }"),
    );
    for (const protocol of ["short-poll", "long-poll", "sse", "websocket"]) {
      const r = result.protocols[protocol] as ProtocolResult;
      expect(r.lost, protocol).toBe(0);
      expect(r.delivered, protocol).toBeGreaterThan(0);
      if (protocol === "short-poll") {
        // One poll at a time: with a 200 ms round trip a poll leaves every 200 ms, not every
        // 50 ms, so a message waits half a round trip for the next poll, then the trip back.
        expect(r.latency.p50, protocol).toBeGreaterThan(150);
        expect(r.latency.p50, protocol).toBeLessThan(300);
        continue;
      }
      // Loopback alone delivers in a few ms: what is left is the profile's one-way latency.
      expect(r.latency.p50, protocol).toBeGreaterThan(95);
      expect(r.latency.p50, protocol).toBeLessThan(140);
    }
  }, 60_000);
});

interface Received {
  /** Receive time of each message by its sequence number (monotonic ms). */
  at: Map<number, number>;
  breaks: string[];
}

function receiver(): ClientHandlers & Received {
  const at = new Map<number, number>();
  const breaks: string[] = [];
  return {
    at,
    breaks,
    onReady: () => {},
    onMessage: (_id, body) => at.set((body as { seq: number }).seq, monoMs()),
    onGap: () => {},
    onBreak: (reason) => breaks.push(reason),
    onUnrecognised: () => {},
  };
}

/**
 * Bytes in the kernel's send queue of every established TCP connection whose
 * local port is `port` (the server's side), from /proc/net/tcp.
 */
function sendQueues(port: string): number[] {
  const portHex = Number(port).toString(16).toUpperCase().padStart(4, "0");
  const queues: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "latin1").split("\n").slice(1)) {
    const [, local, , state, queue] = line.trim().split(/\s+/);
    // 01: ESTABLISHED; tx_queue:rx_queue in hex.
    if (local?.endsWith(`:${portHex}`) && state === "01") {
      queues.push(Number.parseInt(queue?.split(":")[0] ?? "0", 16));
    }
  }
  return queues;
}

describe("clients.network: bandwidth", () => {
  it("a 64 KB/s client sent 256 KB/s backs up the server's send queue, and a plain client on the channel keeps up", async () => {
    const server = await startReferenceServer({ port: 0 });
    const context = createClientContext();
    const publisher = createHttpPublisher(server.url, { connections: 2, context });
    const channel = "bandwidth";
    const slowNetwork = new ClientNetwork(
      { name: "custom", ...PERFECT_NETWORK, downBytesPerSec: 64 * 1024 },
      monoMs(),
      1,
    );
    const slow = receiver();
    const fast = receiver();
    const open = (handlers: ClientHandlers, network?: ClientNetwork) =>
      createClient("websocket", {
        baseUrl: server.url,
        channel,
        user: "bandwidth",
        settings: {},
        requestTimeoutMs: 5_000,
        handlers,
        context,
        network,
      });
    const slowClient = open(slow, slowNetwork);
    const fastClient = open(fast);
    try {
      await Promise.all([slowClient.connect(), fastClient.connect()]);
      // 8 KB messages at 32/s: 256 KB/s, four times what the slow client's network carries.
      const sentAt: number[] = [];
      const padding = "x".repeat(8 * 1024);
      const startMs = monoMs();
      for (let seq = 0; seq < 128; seq++) {
        await sleepUntil(startMs + seq * (1000 / 32));
        sentAt.push(monoMs());
        await publisher.publish(channel, { seq, padding });
      }
      // Seen on the server's side of the kernel: its send queue towards the slow client grew
      // (the shaper stopped reading, the window closed), towards everyone else it is empty.
      const queues = sendQueues(new URL(server.url).port);
      queues.sort((a, b) => b - a);
      // 256 KB/s sent, 64 KB/s taken, for 4 s: about 750 KB waits, much of it there (how much
      // the kernel holds rather than the server depends on its autotuning: 560 KB seen on a
      // quiet machine, 195 KB on a busy one), five times what any other holds at most...
      expect(queues[0]).toBeGreaterThan(100 * 1024);
      // ...where the fast client's and the publisher's hold a message in flight at most.
      for (const bytes of queues.slice(1)) expect(bytes).toBeLessThan(20 * 1024);
      await waitFor(() => fast.at.size === 128, "every message at the fast client");
      expect(slow.at.size).toBeLessThan(128);
      // The slow one got what 64 KB/s carries: 8 of these messages a second once going.
      const steady = [...slow.at.values()].filter(
        (at) => at >= startMs + 1000 && at < startMs + 4000,
      ).length;
      expect(steady).toBeGreaterThanOrEqual(18);
      expect(steady).toBeLessThanOrEqual(30);
      const lagsMs = [...fast.at].map(([seq, at]) => at - (sentAt[seq] as number));
      lagsMs.sort((a, b) => a - b);
      // The fast client never waited on the slow one (generous: a busy 2-core machine).
      expect(lagsMs[Math.floor(lagsMs.length / 2)]).toBeLessThan(50);
      expect(fast.breaks).toEqual([]);
    } finally {
      slowClient.close();
      fastClient.close();
      await publisher.close();
      await server.close();
    }
  }, 30_000);
});

describe("clients.network: blackhole", () => {
  it("a blackholed WebSocket client is found dead by the heartbeat watchdog, and reconnects when the network is back", async () => {
    const result = await runScenario(
      parseScenario(
        `
name: network-blackhole
protocols: [websocket]
server: { heartbeatInterval: 200ms }
clients: { count: 6, channels: 2, rampUp: 100ms, network: { blackhole: { every: 3s, for: 1200ms } } }
publish: { rate: 10/s, payloadBytes: 200 }
duration: 3s
warmup: 200ms
drain: 1500ms
reconnect: { initialDelay: 100ms, maxDelay: 500ms, resume: true }
`,
        "blackhole.yaml",
      ),
    );
    const r = result.protocols.websocket as ProtocolResult;
    // Every client's network went away once in its first 3 s (at an offset of its own);
    // some go again near the end of the run, too late to come back before it ends.
    expect(r.breaks).toBeGreaterThanOrEqual(6);
    expect(r.breakReasons).toEqual([
      expect.objectContaining({ reason: "no traffic for over 600 ms (client watchdog)" }),
    ]);
    expect(r.reconnects).toBeGreaterThanOrEqual(6);
    // Noticed three heartbeats (600 ms) into the 1.2 s blackhole, and back as it ends.
    expect(r.reconnect.max).toBeLessThan(1200);
    expect(r.duplicates).toBe(0);
  }, 30_000);
});

describe("clients.network: beneath TLS", () => {
  it("shapes the TCP bytes under TLS: the handshake pays the round trips, the plaintext arrives whole, wire bytes are counted", async () => {
    const certs = createThrowawayCertificates();
    const ANSWER = 20_000;
    const server = createTlsServer({ cert: certs.certPem, key: certs.keyPem }, (socket) => {
      socket.end("x".repeat(ANSWER));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const tls = createClientTlsState({
      ca: certs.caPem,
      insecure: false,
      sessionResumption: false,
    });
    const times = { tcp: 0, tls: 0 };
    const recorder = {
      tcp: (ms: number) => {
        times.tcp = ms;
      },
      tls: (ms: number) => {
        times.tls = ms;
      },
      http: () => {},
    };
    const network = new ClientNetwork(
      { name: "custom", ...PERFECT_NETWORK, latencyMs: 50 },
      monoMs(),
      7,
    );
    try {
      const { plaintext, wire } = await new Promise<{ plaintext: number; wire: number }>(
        (resolve, reject) => {
          const socket = connectSocket(
            { host: "127.0.0.1", port, secure: true },
            tls,
            recorder,
            undefined,
            network,
          );
          let received = 0;
          socket.on("data", (chunk: Buffer) => {
            received += chunk.length;
          });
          socket.on("error", reject);
          socket.on("close", () => resolve({ plaintext: received, wire: socket.bytesRead }));
        },
      );
      expect(plaintext).toBe(ANSWER);
      expect(wire).toBeGreaterThan(ANSWER);
      // TCP: one round trip (100 ms). TLS 1.3: one more, the client's Finished aside.
      expect(times.tcp).toBeGreaterThanOrEqual(95);
      expect(times.tcp).toBeLessThan(250);
      expect(times.tls).toBeGreaterThanOrEqual(95);
    } finally {
      server.close();
    }
  });
});
