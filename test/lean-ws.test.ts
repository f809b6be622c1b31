import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { httpTarget } from "../src/clients/lean-http.js";
import { LeanState, LeanWebSocket, type LeanWebSocketHandler } from "../src/clients/lean-ws.js";
import { TRY_AGAIN_LATER_DEFAULT_MS } from "../src/clients/retry-after.js";
import { SocketTracker } from "../src/clients/types.js";
import { WebSocketClient } from "../src/clients/websocket.js";
import { clientOptions } from "./helpers/client-options.js";

/** What a lean socket reported, in order. */
function recorder() {
  const events: string[] = [];
  const handler: LeanWebSocketHandler = {
    onOpen: () => events.push("open"),
    onMessage: (data, isBinary) =>
      events.push(`${isBinary ? "binary" : "text"}:${data.toString()}`),
    onRefused: (status) => events.push(`refused:${status}`),
    onClose: (code, reason) => events.push(`close:${code}:${reason}`),
  };
  return { events, handler };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let server: Server | undefined;
let wss: WebSocketServer | undefined;
afterEach(async () => {
  wss?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  wss = undefined;
});

/** A `ws` server as the peer, on port 0; `onConnection` plays the server's part. */
async function peer(onConnection: (ws: import("ws").WebSocket) => void): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.end('{"error":"not an upgrade"}');
  });
  wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", onConnection);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("LeanWebSocket against ws as the peer", () => {
  it("opens, reads small, 16-bit and 64-bit lengths, fragments and binary, echoes masked text", async () => {
    const received: string[] = [];
    const big = "x".repeat(70_000);
    const base = await peer((ws) => {
      ws.on("message", (data) => {
        received.push(data.toString());
        ws.send("small");
        ws.send("m".repeat(300));
        ws.send(big);
        ws.send("frag", { fin: false });
        ws.send("ment", { fin: true });
        ws.send(Buffer.from([1, 2]), { binary: true });
      });
    });
    const { events, handler } = recorder();
    const tracker = new SocketTracker();
    const socket = new LeanWebSocket(httpTarget(base), "/chat", tracker, handler, 5_000);
    await until(() => events.includes("open"), "open");
    socket.send('{"type":"hello","text":"héllo"}');
    await until(() => events.length >= 6, "five messages");
    expect(received).toEqual(['{"type":"hello","text":"héllo"}']);
    expect(events).toEqual([
      "open",
      "text:small",
      `text:${"m".repeat(300)}`,
      `text:${big}`,
      "text:fragment",
      `binary:${Buffer.from([1, 2]).toString()}`,
    ]);
    expect(tracker.openCount).toBe(1);
    socket.close(1000);
    await until(() => events.some((e) => e.startsWith("close:")), "close");
    expect(events.at(-1)).toBe("close:1000:");
    expect(tracker.openCount).toBe(0);
    expect(tracker.totals().bytesIn).toBeGreaterThan(70_000);
  });

  it("answers protocol pings with pongs carrying the same payload", async () => {
    let pong = "";
    const base = await peer((ws) => {
      ws.on("pong", (data) => {
        pong = data.toString();
      });
      ws.ping("are you there");
    });
    const { events, handler } = recorder();
    const socket = new LeanWebSocket(httpTarget(base), "/", new SocketTracker(), handler, 5_000);
    await until(() => pong !== "", "a pong");
    expect(pong).toBe("are you there");
    expect(events).toEqual(["open"]);
    socket.terminate();
  });

  it("reports the server's close code and reason, and a refused upgrade with its status", async () => {
    const base = await peer((ws) => ws.close(1008, "policy"));
    const { events, handler } = recorder();
    new LeanWebSocket(httpTarget(base), "/", new SocketTracker(), handler, 5_000);
    await until(() => events.length >= 2, "open and close");
    expect(events).toEqual(["open", "close:1008:policy"]);

    server?.removeAllListeners("upgrade"); // plain HTTP now: the upgrade gets a 400
    const refused = recorder();
    const socket = new LeanWebSocket(
      httpTarget(base),
      "/",
      new SocketTracker(),
      refused.handler,
      5_000,
    );
    await until(() => refused.events.length >= 1, "refusal");
    expect(refused.events).toEqual(["refused:400"]);
    expect(socket.state).toBe(LeanState.Closed);
  });

  it("gives up on a server that never answers the upgrade", async () => {
    server = createServer();
    const held: import("node:stream").Duplex[] = [];
    server.on("upgrade", (_req, socket) => held.push(socket)); // holds the socket, says nothing
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { events, handler } = recorder();
    new LeanWebSocket(httpTarget(base), "/", new SocketTracker(), handler, 200);
    await until(() => events.length >= 1, "the handshake timeout");
    expect(events).toEqual(["close:1006:no upgrade answer in time"]);
    for (const socket of held) socket.destroy();
  });

  it("cuts a fragmented message that grows past the message bound, with 1009", async () => {
    const piece = Buffer.alloc(1024 * 1024, "f");
    const base = await peer((ws) => {
      // Fragments of 1 MB each, never the last one: each frame small, the message endless.
      for (let i = 0; i < 70 && ws.readyState === ws.OPEN; i++) ws.send(piece, { fin: false });
    });
    const { events, handler } = recorder();
    new LeanWebSocket(httpTarget(base), "/", new SocketTracker(), handler, 5_000);
    await until(() => events.length >= 2, "open and close");
    expect(events).toEqual(["open", "close:1009:message too big"]);
  });

  it("keeps what a full server said: a 503's Retry-After, or the default wait after a 1013 close", async () => {
    const base = await peer((ws) => ws.close(1013, "full"));
    const breaks: string[] = [];
    const client = (baseUrl: string) =>
      new WebSocketClient(clientOptions(baseUrl, {}, (reason) => breaks.push(reason)));
    const closed = client(base);
    await closed.connect();
    await until(() => breaks.length === 1, "the 1013 close");
    expect(breaks).toEqual(["closed with code 1013 (full)"]);
    expect(closed.retryAfterMs).toBe(TRY_AGAIN_LATER_DEFAULT_MS);

    server?.removeAllListeners("upgrade");
    server?.on("upgrade", (_req, socket) => {
      socket.end(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 7\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
      );
    });
    const refused = client(base);
    await expect(refused.connect()).rejects.toThrow(/found 503/);
    expect(refused.retryAfterMs).toBe(7000);
  });
});
