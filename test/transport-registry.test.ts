import { request } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveConnection } from "../reference-server/context.js";
import type { Delivery, Subscriber } from "../reference-server/delivery.js";
import { startReferenceServer } from "../reference-server/index.js";
import {
  registerServerTransport,
  unregisterServerTransport,
} from "../reference-server/transports/registry.js";
import type { ServerTransportFactory } from "../reference-server/transports/types.js";
import { createHttpPublisher } from "../src/clients/publishers.js";
import { registerClient, unregisterClient } from "../src/clients/registry.js";
import {
  type ClientOptions,
  createClientContext,
  type TransportClient,
} from "../src/clients/types.js";
import { Fleet } from "../src/load/fleet/fleet.js";
import { renderTable } from "../src/report/table.js";
import { parseScenario } from "../src/scenario/load.js";
import { DEFAULT_RECONNECT } from "../src/scenario/reconnect.js";
import type { RtbenchError } from "../src/shared/errors.js";
import {
  registerTransport,
  type TransportDescriptor,
  transportNames,
  unregisterTransport,
} from "../src/shared/transports.js";
import { monoMs } from "../src/util/clock.js";
import { makeResult } from "./helpers/result-fixture.js";
import { waitFor } from "./helpers/wait.js";

/**
 * A sixth transport added the way an extension would: a row, a client and a
 * server half, registered here and nowhere else. It streams newline-delimited
 * JSON; a blank line is its heartbeat. What the test proves is that core code
 * (validation, server heartbeats and shutdown, the fleet's watchdog, the
 * report) picks it up from the registries alone.
 */
const TOY: TransportDescriptor = {
  name: "toy",
  section: "toy",
  label: "Toy",
  description: "Newline-delimited JSON over one long HTTP/1.1 response.",
  delivery: "stream",
  serverHeartbeats: true,
  watchable: true,
  route: { path: "/toy/{channel}", channelIn: "path", over: "http1" },
  runByDefault: false,
  settings: {
    greeting: {
      kind: "choice",
      field: "greeting",
      default: "hello",
      choices: ["hello", "hi"],
      description: "Sent as a query parameter, to see settings reach the client.",
    },
  },
};

/** Heartbeats the server sent on toy connections; a test may silence them. */
const serverSide = { heartbeats: 0, silent: false, greetings: [] as string[] };

const mountToy: ServerTransportFactory = (ctx) => ({
  async request(req, res, route) {
    const channel = route.channel ?? "";
    serverSide.greetings.push(route.url.searchParams.get("greeting") ?? "");
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const connection: LiveConnection & Subscriber = {
      deliver: (delivery: Delivery) => res.write(`${delivery.json}\n`),
      gap: () => {},
      heartbeat: () => {
        serverSide.heartbeats++;
        if (!serverSide.silent) res.write("\n");
      },
      shutdown: () => res.end(),
      drop: () => res.destroy(),
    };
    const open = ctx.connectionsOf("toy");
    open.add(connection);
    const membership = await ctx.hub.join(channel, connection, null);
    req.once("close", () => {
      ctx.hub.leave(membership);
      open.delete(connection);
    });
  },
});

class ToyClient implements TransportClient {
  readonly protocol = "toy";
  cursor: string | undefined;
  lastActivityMs = 0;
  private socket: Socket | undefined;
  private ready = false;
  private buffered = "";

  constructor(private readonly options: ClientOptions) {}

  connect(): Promise<void> {
    const { baseUrl, channel, settings, handlers, context } = this.options;
    const url = `${baseUrl}/toy/${channel}?greeting=${String(settings.greeting)}`;
    const startedAt = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`toy: ${res.statusCode}`));
          return;
        }
        this.ready = true;
        this.lastActivityMs = performance.now();
        handlers.onReady(this.lastActivityMs - startedAt);
        res.setEncoding("utf8");
        res.on("data", (text: string) => this.onText(text));
        res.once("close", () => this.broke("closed"));
        resolve();
      });
      req.once("socket", (socket: Socket) => {
        this.socket = socket;
        context.sockets.track(socket);
      });
      req.once("error", (error) => (this.ready ? this.broke(error.message) : reject(error)));
      req.end();
    });
  }

  close(): void {
    this.ready = false;
    this.socket?.destroy();
  }

  private onText(text: string): void {
    this.lastActivityMs = performance.now();
    const lines = (this.buffered + text).split("\n");
    this.buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") continue;
      const message = JSON.parse(line) as { id: number; body: unknown };
      this.cursor = String(message.id);
      this.options.handlers.onMessage(this.cursor, message.body);
    }
  }

  private broke(reason: string): void {
    if (!this.ready) return;
    this.ready = false;
    this.options.handlers.onBreak(reason);
  }
}

beforeAll(() => {
  registerTransport(TOY);
  registerClient("toy", (options) => new ToyClient(options));
  registerServerTransport("toy", mountToy);
});

afterAll(() => {
  unregisterClient("toy");
  unregisterServerTransport("toy");
  unregisterTransport("toy");
});

describe("a transport added through the registries alone", () => {
  it("is a protocol of scenarios, with its own section and settings", () => {
    expect(transportNames()).toContain("toy");
    const scenario = parseScenario(
      "protocols: [toy, websocket]\ntoy: { greeting: hi, reconnect: { jitter: none } }\n",
      "toy.yaml",
    );
    expect(scenario.protocols).toEqual(["toy", "websocket"]);
    expect(scenario.transports.toy?.settings).toEqual({ greeting: "hi" });
    expect(scenario.transports.toy?.reconnect.jitter).toBe("none");
    let details: string[] = [];
    try {
      parseScenario("toy: { greeting: howdy }\n", "bad.yaml");
    } catch (error) {
      details = (error as RtbenchError).details;
    }
    expect(details).toEqual(['toy.greeting: expected one of hello, hi, found "howdy"']);
  });

  it("gets heartbeats from the server, and its clients a watchdog and the messages", async () => {
    const server = await startReferenceServer({ port: 0, heartbeatIntervalMs: 100 });
    const publisher = createHttpPublisher(server.url, {
      connections: 1,
      context: createClientContext(),
    });
    const now = monoMs();
    const fleet = new Fleet({
      type: "start",
      protocol: "toy",
      clients: [0, 1, 2].map((index) => ({
        index,
        baseUrl: server.url,
        channel: "toy-room",
        user: `u${index}`,
      })),
      totalClients: 3,
      rampStartMs: now,
      rampUpMs: 0,
      measureStartMs: now,
      measureEndMs: now + 60_000,
      drainEndMs: now + 61_000,
      settings: { greeting: "hi" },
      urls: [server.url],
      // 1 s of silence breaks a client: a busy machine can hold a 100 ms heartbeat back
      // by a few hundred ms (seen with three busy loops beside the suite).
      reconnect: { ...DEFAULT_RECONNECT, watchdogIntervals: 10, initialDelayMs: 5_000 },
      heartbeatIntervalMs: 100,
      seed: 1,
    });
    try {
      await fleet.rampUp(new AbortController().signal);
      await waitFor(() => fleet.open === 3, "three toy clients open");
      expect(serverSide.greetings).toEqual(["hi", "hi", "hi"]);

      await publisher.publish("toy-room", { seq: 1, sch: monoMs(), snt: monoMs(), k: "x" });
      await waitFor(() => fleet.received === 3, "the message at every client");

      // The server's heartbeat loop reaches the new transport's connections...
      await waitFor(() => serverSide.heartbeats >= 6, "heartbeats on toy connections");
      expect(fleet.counters.watchdogBreaks).toBe(0);
      // ...and when they stop (a stalled server), the fleet's watchdog notices.
      serverSide.silent = true;
      await waitFor(
        () => fleet.counters.watchdogBreaks === 3,
        "the watchdog to break all three",
        5_000,
      );
      expect(fleet.counters.breaks).toBe(3);
    } finally {
      fleet.close();
      await publisher.close();
      await server.close();
    }
  });

  it("gets a column of its own in the table", () => {
    const table = renderTable(makeResult({ protocols: { toy: {}, websocket: {} } }));
    const header = table.split("\n").find((line) => line.startsWith("metric")) ?? "";
    // Registered after the built-ins, so its column comes after theirs.
    expect(header).toMatch(/^metric\s+WebSocket\s+Toy$/);
  });
});
