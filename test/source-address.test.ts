/**
 * Source endpoints: past a few thousand clients per server port every client
 * connects from an address and port of its own (127.0.0.2:10000, ...), so
 * the kernel never searches its port table on a connect. The plan is pure;
 * the rest runs over real sockets against the real reference server.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { createClient } from "../src/clients/registry.js";
import {
  type ClientContext,
  createClientContext,
  SocketTracker,
  type SourceEndpoint,
} from "../src/clients/types.js";
import {
  assignClients,
  FIRST_SOURCE_PORT,
  SOURCE_PORTS_PER_ADDRESS,
  SYSTEM_PORTS_PER_URL,
  sourceOf,
} from "../src/load/shards/assign.js";
import type { ProtocolName } from "../src/shared/transports.js";
import { isSourceRefused } from "../src/util/failure.js";
import { freePort } from "./helpers/ports.js";

describe("source endpoint plan", () => {
  it("leaves the choice to the system until one server URL would carry too many clients", () => {
    const urls = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];
    const fits = assignClients({
      count: 3 * SYSTEM_PORTS_PER_URL,
      channelNames: ["c"],
      baseUrls: urls,
      seed: 1,
    });
    expect(fits.every((c) => c.source === undefined)).toBe(true);
  });

  it("past that, gives every client an endpoint of its own from 127.0.0.2 on", () => {
    const count = 2 * SOURCE_PORTS_PER_ADDRESS + 10;
    const clients = assignClients({
      count,
      channelNames: ["a", "b"],
      baseUrls: ["http://127.0.0.1:9", "http://127.0.0.1:10"],
      seed: 1,
    });
    const endpoints = new Set(clients.map((c) => `${c.source?.address}:${c.source?.port}`));
    expect(endpoints.size).toBe(count);
    const perAddress = new Map<string, number>();
    for (const c of clients) {
      const address = String(c.source?.address);
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      expect(c.source?.port).toBeGreaterThanOrEqual(FIRST_SOURCE_PORT);
      expect(c.source?.port).toBeLessThan(FIRST_SOURCE_PORT + SOURCE_PORTS_PER_ADDRESS);
    }
    expect([...perAddress.keys()]).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    expect(Math.max(...perAddress.values())).toBe(SOURCE_PORTS_PER_ADDRESS);
    const far = sourceOf(249 * SOURCE_PORTS_PER_ADDRESS, 1e9, "http://127.0.0.1:9", "linux");
    expect(far?.address).toBe("127.0.1.1");
  });

  it("only for loopback targets on Linux, where all of 127/8 answers", () => {
    expect(sourceOf(0, 1e9, "http://example.test:80", "linux")).toBeUndefined();
    expect(sourceOf(0, 1e9, "http://127.0.0.1:80", "darwin")).toBeUndefined();
    expect(sourceOf(0, 1e9, "http://127.0.0.1:80", "linux")).toEqual({
      address: "127.0.0.2",
      port: FIRST_SOURCE_PORT,
    });
  });
});

/** Remembers every socket a client opens, to read where it connected from. */
class RecordingTracker extends SocketTracker {
  readonly sockets: Socket[] = [];
  override adopt(socket: Socket): void {
    this.sockets.push(socket);
    super.adopt(socket);
  }
  override track(socket: Socket): void {
    this.sockets.push(socket);
    super.track(socket);
  }
}

function client(protocol: ProtocolName, baseUrl: string, source: SourceEndpoint) {
  const context: ClientContext & { sockets: RecordingTracker } = {
    ...createClientContext(),
    sockets: new RecordingTracker(),
  };
  const transportClient = createClient(protocol, {
    baseUrl,
    channel: "c",
    user: "u",
    source,
    // The long poll's hold time; the other transports take no settings.
    settings: { timeoutMs: 30_000 },
    requestTimeoutMs: 5_000,
    handlers: { onReady() {}, onMessage() {}, onGap() {}, onUnrecognised() {}, onBreak() {} },
    context,
  });
  return { transportClient, sockets: context.sockets.sockets };
}

describe("source endpoints on real sockets", () => {
  const servers: RunningServer[] = [];
  beforeAll(async () => {
    servers.push(await startReferenceServer({ port: 0 }), await startReferenceServer({ port: 0 }));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  for (const protocol of ["websocket", "sse", "long-poll"] as const) {
    it(`${protocol}: connects from the endpoint it is given, to two servers at once`, async () => {
      const source = { address: "127.0.0.3", port: await freePort("127.0.0.3") };
      const clients = servers.map((server) => client(protocol, server.url, source));
      await Promise.all(clients.map((c) => c.transportClient.connect()));
      for (const { sockets } of clients) {
        expect(sockets[0]?.localAddress).toBe(source.address);
        expect(sockets[0]?.localPort).toBe(source.port);
      }
      for (const c of clients) c.transportClient.close();
    });

    it(`${protocol}: a refused endpoint fails the connect with an error that says so`, async () => {
      // A listener holds the endpoint: no socket may bind to it, SO_REUSEADDR or not.
      const holder: Server = createServer();
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.3", resolve));
      const { port } = holder.address() as { port: number };
      const { transportClient } = client(protocol, (servers[0] as RunningServer).url, {
        address: "127.0.0.3",
        port,
      });
      const error = await transportClient.connect().then(
        () => null,
        (e: unknown) => e,
      );
      transportClient.close();
      await new Promise((resolve) => holder.close(resolve));
      expect(error).not.toBeNull();
      expect(isSourceRefused(error)).toBe(true);
    });
  }
});
