import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { createClient } from "../src/clients/registry.js";
import { createClientContext } from "../src/clients/types.js";
import {
  assignClients,
  CONNECTIONS_PER_SOURCE_ADDRESS,
  sourceAddressOf,
} from "../src/load/assign.js";

describe("source addresses", () => {
  it("stay the system's choice until one server URL would carry too many clients", () => {
    const urls = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];
    const fits = assignClients({
      count: 3 * CONNECTIONS_PER_SOURCE_ADDRESS,
      channelNames: ["c"],
      baseUrls: urls,
      seed: 1,
    });
    expect(fits.every((c) => c.localAddress === undefined)).toBe(true);
  });

  it("past that, spread every client over 127.0.0.1, .2, ... at most the limit per address", () => {
    const count = 2 * CONNECTIONS_PER_SOURCE_ADDRESS + 10;
    const clients = assignClients({
      count,
      channelNames: ["a", "b"],
      baseUrls: ["http://127.0.0.1:9"],
      seed: 1,
    });
    const perAddress = new Map<string, number>();
    for (const c of clients) {
      perAddress.set(String(c.localAddress), (perAddress.get(String(c.localAddress)) ?? 0) + 1);
    }
    expect([...perAddress.keys()]).toEqual(["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    expect(Math.max(...perAddress.values())).toBe(CONNECTIONS_PER_SOURCE_ADDRESS);
    expect(sourceAddressOf(250 * CONNECTIONS_PER_SOURCE_ADDRESS, 1e9, "http://127.0.0.1:9")).toBe(
      "127.0.1.1",
    );
    // Not for a target off this machine's loopback: its addresses are not ours to pick.
    expect(sourceAddressOf(0, 1e9, "http://example.test:80")).toBeUndefined();
  });

  it("reach the socket: a subscriber given 127.0.0.3 connects from it", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    const remote: string[] = [];
    wss.on("connection", (ws, req) => {
      remote.push(req.socket.remoteAddress ?? "");
      ws.close();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createClient("websocket", {
      baseUrl,
      channel: "c",
      user: "u",
      localAddress: "127.0.0.3",
      settings: {},
      requestTimeoutMs: 5_000,
      handlers: { onReady() {}, onMessage() {}, onGap() {}, onUnrecognised() {}, onBreak() {} },
      context: createClientContext(),
    });
    await client.connect();
    client.close();
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    expect(remote).toEqual(["127.0.0.3"]);
  });
});
