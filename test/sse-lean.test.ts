import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SseClient } from "../src/clients/sse.js";
import { type ClientOptions, createClientContext } from "../src/clients/types.js";
import { sleep, waitFor } from "./helpers/wait.js";

/**
 * The lean SSE client against a raw TCP server on 127.0.0.1 that writes
 * the HTTP bytes itself, so the answers can be split anywhere and framed
 * in ways the reference server never uses.
 */

let server: Server | undefined;

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** Starts a server that hands each connection's request head to `answer`. */
async function rawServer(answer: (socket: Socket, requestHead: string) => void): Promise<string> {
  const s = createServer((socket) => {
    // Small writes leave as small segments: the client sees the pieces as they were written.
    socket.setNoDelay(true);
    let head = "";
    socket.on("data", (chunk) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) answer(socket, head);
    });
    socket.on("error", () => {});
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const address = s.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

function clientFor(baseUrl: string, extra: Partial<ClientOptions> = {}) {
  const seen = {
    ready: 0,
    messages: [] as Array<{ id: string; body: unknown }>,
    breaks: [] as string[],
  };
  const context = createClientContext();
  const client = new SseClient({
    baseUrl,
    channel: "room",
    user: "tester",
    settings: { client: "lean" },
    requestTimeoutMs: 2_000,
    context,
    handlers: {
      onReady: () => {
        seen.ready++;
      },
      onMessage: (id, body) => seen.messages.push({ id, body }),
      onGap: () => {},
      onBreak: (reason) => seen.breaks.push(reason),
      onUnrecognised: () => {},
    },
    ...extra,
  });
  return { client, seen, context };
}

/** One reference-format SSE message event. */
function event(id: number): string {
  return `id: ${id}\nevent: message\ndata: ${JSON.stringify({ id, body: { n: id } })}\n\n`;
}

/** An HTTP/1.1 chunk framing `text`. */
function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

describe("lean SSE client on raw HTTP/1.1", () => {
  it("reads a chunked stream written a byte at a time, then reports its end as a break", async () => {
    let requestHead = "";
    const baseUrl = await rawServer((socket, head) => {
      requestHead = head;
      const bytes = Buffer.from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
          chunk(`retry: 1500\n\n${event(1)}`) +
          chunk(event(2).slice(0, 7)) +
          chunk(event(2).slice(7)) +
          "0\r\n\r\n",
        "latin1",
      );
      // One byte per write, a little apart: every boundary falls in a different read.
      let at = 0;
      const next = () => {
        if (at >= bytes.length) return void socket.end();
        socket.write(bytes.subarray(at, at + 1));
        at++;
        setTimeout(next, at % 50 === 0 ? 1 : 0);
      };
      next();
    });
    const { client, seen, context } = clientFor(baseUrl, { since: "41" });
    await client.connect();
    await waitFor(() => seen.breaks.length > 0, "the end of the stream");
    expect(requestHead).toMatch(/^GET \/api\/stream\/room\?user=tester HTTP\/1\.1\r\n/);
    expect(requestHead).toMatch(/\r\nlast-event-id: 41\r\n/);
    expect(seen.ready).toBe(1);
    expect(seen.messages).toEqual([
      { id: "1", body: { n: 1 } },
      { id: "2", body: { n: 2 } },
    ]);
    expect(client.retryMs).toBe(1500);
    expect(client.cursor).toBe("2");
    expect(seen.breaks).toEqual(["stream ended"]);
    expect(context.sockets.openCount).toBe(0);
    expect(context.sockets.totals().bytesIn).toBeGreaterThan(150);
  });

  it("rejects an answer that is not an event stream, naming what came", async () => {
    const baseUrl = await rawServer((socket) => {
      socket.end(
        'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n{"error":"not found"}',
      );
    });
    const { client, seen, context } = clientFor(baseUrl);
    await expect(client.connect()).rejects.toThrow(
      /expected 200 text\/event-stream, found 404 application\/json/,
    );
    expect(seen.ready).toBe(0);
    expect(seen.breaks).toEqual([]);
    await waitFor(() => context.sockets.openCount === 0, "the socket to close");
  });

  it("gives up on a server that accepts but never answers, after the request timeout", async () => {
    const baseUrl = await rawServer(() => {});
    const { client, context } = clientFor(baseUrl, { requestTimeoutMs: 300 });
    const started = Date.now();
    await expect(client.connect()).rejects.toThrow(/no response within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => context.sockets.openCount === 0, "the socket to close");
  });

  it("refuses a Last-Event-ID with a line break instead of sending a forged header", async () => {
    const baseUrl = await rawServer(() => {});
    let connections = 0;
    server?.on("connection", () => {
      connections++;
    });
    const { client } = clientFor(baseUrl, { since: "7\r\nx-forged: 1" });
    await expect(client.connect()).rejects.toThrow(/line break/);
    // A connect made anyway would reach the server within this.
    await sleep(200);
    expect(connections).toBe(0);
  });
});
