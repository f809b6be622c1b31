import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { httpChunk, wsTextFrame } from "../reference-server/wire.js";
import { Http1ResponseReader } from "../src/clients/http1-parser.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startReferenceServer({ port: 0, maxBodyBytes: 1024 * 1024 });
});
afterAll(async () => {
  await server?.close();
});

async function publish(channel: string, body: unknown): Promise<void> {
  const response = await fetch(`${server.url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ channel, body }),
  });
  expect(response.status).toBe(201);
}

describe("frames built once", () => {
  it("wsTextFrame uses the 7-bit, 16-bit and 64-bit length forms at their edges", () => {
    for (const [length, header] of [
      [0, [0x81, 0]],
      [125, [0x81, 125]],
      [126, [0x81, 126, 0, 126]],
      [65535, [0x81, 126, 0xff, 0xff]],
      [65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    ] as const) {
      const frame = wsTextFrame(Buffer.alloc(length, 0x61));
      expect([...frame.subarray(0, header.length)]).toEqual(header);
      expect(frame.length).toBe(header.length + length);
    }
  });

  it("httpChunk frames an event as one chunk a reader takes apart again", () => {
    const answers: string[] = [];
    const reader = new Http1ResponseReader({
      onAnswer: (a) => answers.push(a.body.toString()),
    });
    reader.feed(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"));
    reader.feed(httpChunk(Buffer.from("data: é\n\n")));
    reader.feed(httpChunk(Buffer.from("x".repeat(300))));
    reader.feed(Buffer.from("0\r\n\r\n"));
    expect(answers).toEqual([`data: é\n\n${"x".repeat(300)}`]);
  });

  it("the ws library, as a browser-grade peer, reads every size of prebuilt frame in order", async () => {
    const channel = `wire-${process.pid}`;
    const received: unknown[] = [];
    const peers = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws/chat/${channel}`);
            ws.on("message", (data, isBinary) => {
              expect(isBinary).toBe(false);
              const frame = JSON.parse(data.toString());
              if (frame.type === "message") received.push(frame.body);
            });
            ws.once("open", () => resolve(ws));
            ws.once("error", reject);
          }),
      ),
    );
    const bodies = [{ s: "" }, { s: "a".repeat(200) }, { s: "b".repeat(70_000) }, { s: "é😀" }];
    // Concurrent publishes: several frames can land on a socket in one tick.
    await Promise.all(bodies.map((body) => publish(channel, body)));
    const deadline = Date.now() + 5_000;
    while (received.length < bodies.length * peers.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const ws of peers) ws.close();
    expect(received).toHaveLength(bodies.length * peers.length);
    const sorted = (list: unknown[]) => list.map((b) => JSON.stringify(b)).sort();
    expect(sorted(received)).toEqual(sorted([...bodies, ...bodies, ...bodies]));
  });
});
