import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Http1ResponseReader, type HttpAnswer, headerValue } from "../src/clients/http1-parser.js";
import { HttpConnection, type HttpExchangeHandler, httpTarget } from "../src/clients/lean-http.js";
import { emptyAnswerCursor } from "../src/clients/poll-answer.js";
import { SocketTracker } from "../src/clients/types.js";
import { freePort } from "./helpers/ports.js";

/** Feeds `wire` to a reader in pieces cut at `cuts` and returns what it answered. */
function readAll(
  wire: Buffer,
  cuts: number[],
  streamFirst = false,
): Array<Record<string, unknown>> {
  const answers: Array<Record<string, unknown>> = [];
  const streamed: Buffer[] = [];
  const reader = new Http1ResponseReader({
    onAnswer: (a: HttpAnswer) =>
      answers.push({
        status: a.status,
        body: a.body.length > 0 ? a.body.toString() : Buffer.concat(streamed).toString(),
        closes: a.closes,
        type: headerValue(a.head, "content-type"),
      }),
    onBodyChunk: (chunk) => streamed.push(Buffer.from(chunk)),
  });
  reader.streamBody = streamFirst;
  let from = 0;
  for (const cut of [...cuts, wire.length]) {
    reader.feed(wire.subarray(from, cut));
    from = cut;
  }
  reader.end();
  return answers;
}

const TWO_ANSWERS = Buffer.from(
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n" +
    '{"messages":[],"cursor":12}' +
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5\r\nhéll\r\n3;ext=1\r\no w\r\n0\r\nx-trailer: 1\r\n\r\n" +
    "HTTP/1.1 204 No Content\r\n\r\n" +
    "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end",
);
const EXPECTED = [
  { status: 200, body: '{"messages":[],"cursor":12}', closes: false, type: "application/json" },
  { status: 200, body: "héllo w", closes: false, type: "text/plain" },
  { status: 204, body: "", closes: false, type: undefined },
  { status: 200, body: "until the end", closes: true, type: "text/plain" },
];

describe("Http1ResponseReader", () => {
  it("reads content-length, chunked (extensions, trailers), 204 and close-delimited answers", () => {
    expect(readAll(TWO_ANSWERS, [])).toEqual(EXPECTED);
  });

  it("gives the same answers whatever byte the reads are split at, in two and three pieces", () => {
    for (let cut = 1; cut < TWO_ANSWERS.length; cut++) {
      expect(readAll(TWO_ANSWERS, [cut]), `split at ${cut}`).toEqual(EXPECTED);
      const second = Math.min(TWO_ANSWERS.length - 1, cut + 7);
      if (second > cut) expect(readAll(TWO_ANSWERS, [cut, second])).toEqual(EXPECTED);
    }
  });

  it("streams a body to onBodyChunk when asked, at every split", () => {
    const wire = Buffer.from(
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" +
        "6\r\ndata: \r\n2\r\nx\n\r\n0\r\n\r\n",
    );
    for (let cut = 1; cut < wire.length; cut++) {
      const [answer] = readAll(wire, [cut], true);
      expect(answer).toMatchObject({ status: 200, body: "data: x\n", type: "text/event-stream" });
    }
  });

  it("refuses what is not an HTTP answer and bad framing", () => {
    expect(() => readAll(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"), [])).toThrow(/not an HTTP/);
    expect(() => readAll(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\n"), [])).toThrow(
      /content-length/,
    );
    expect(() =>
      readAll(Buffer.from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"), []),
    ).toThrow(/chunk size/);
  });

  it("refuses a collected body past its bound: a long content-length at once, chunked and close-delimited as they grow", () => {
    const bounded = (wire: string, cut: number) => {
      const reader = new Http1ResponseReader({ onAnswer: () => {} }, 8);
      const bytes = Buffer.from(wire);
      reader.feed(bytes.subarray(0, cut));
      reader.feed(bytes.subarray(cut));
      reader.end();
    };
    const fits =
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
    const cases = [
      "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n4\r\nfghi\r\n",
      "HTTP/1.1 200 OK\r\n\r\nabcdefghi",
    ];
    for (let cut = 0; cut < 60; cut++) {
      expect(() => bounded(fits, Math.min(cut, fits.length))).not.toThrow();
      for (const wire of cases) {
        expect(() => bounded(wire, Math.min(cut, wire.length)), wire).toThrow(
          "HTTP answer body longer than 8 bytes (client bound)",
        );
      }
    }
    // A streamed body (SSE) is its reader's to bound, not this one's.
    const streamed: Buffer[] = [];
    const reader = new Http1ResponseReader(
      { onAnswer: () => {}, onBodyChunk: (chunk) => streamed.push(chunk) },
      8,
    );
    reader.streamBody = true;
    reader.feed(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n0123456789ab"));
    expect(Buffer.concat(streamed).toString()).toBe("0123456789ab");
  });
});

describe("emptyAnswerCursor", () => {
  it("reads the cursor of an empty answer and declines everything else", () => {
    expect(emptyAnswerCursor(Buffer.from('{"messages":[],"cursor":42}'))).toBe("42");
    expect(emptyAnswerCursor(Buffer.from('{"messages":[],"cursor":0}'))).toBe("0");
    expect(emptyAnswerCursor(Buffer.from('{"messages":[{"id":1}],"cursor":1}'))).toBeNull();
    expect(
      emptyAnswerCursor(Buffer.from('{"messages":[],"cursor":5,"gap":{"from":1,"to":4}}')),
    ).toBeNull();
    expect(emptyAnswerCursor(Buffer.from('{"messages":[],"cursor":"a"}'))).toBeNull();
    expect(emptyAnswerCursor(Buffer.from('{"messages":[],"cursor":}'))).toBeNull();
  });
});

/** Collects what a connection reports, and waits for the next report. */
function recorder() {
  const events: Array<{ answer?: HttpAnswer; error?: Error }> = [];
  let wake: (() => void) | null = null;
  const handler: HttpExchangeHandler & { resends: number } = {
    resends: 0,
    onAnswer: (answer) => {
      events.push({ answer });
      wake?.();
    },
    onFailure: (error) => {
      events.push({ error });
      wake?.();
    },
    onResend: () => {
      handler.resends++;
    },
  };
  const next = async (): Promise<{ answer?: HttpAnswer; error?: Error }> => {
    while (events.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return events.shift() as { answer?: HttpAnswer; error?: Error };
  };
  return { handler, next };
}

let servers: Array<Server | NetServer> = [];
/** Sockets accepted by the raw servers, cut at the end of each test. */
const accepted = new Set<import("node:net").Socket>();
afterEach(async () => {
  for (const socket of accepted) socket.destroy();
  accepted.clear();
  await Promise.all(
    servers.map((s) => {
      if ("closeAllConnections" in s) s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
  servers = [];
});

async function listen<S extends Server | NetServer>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

describe("HttpConnection against real servers", () => {
  it("keeps one connection for many requests and reads chunked answers", async () => {
    const ports = new Set<number>();
    const base = await listen(
      createServer((req, res) => {
        ports.add(req.socket.remotePort as number);
        res.write("part one, ");
        res.end(`then ${req.url}`);
      }),
    );
    const { handler, next } = recorder();
    const tracker = new SocketTracker();
    const connection = new HttpConnection(httpTarget(base), tracker, handler);
    for (let i = 0; i < 5; i++) {
      connection.send(connection.requestHead(`/x?i=${i}`), 5_000);
      const { answer } = await next();
      expect(answer?.body.toString()).toBe(`part one, then /x?i=${i}`);
    }
    expect(ports.size).toBe(1);
    expect(tracker.totals().bytesIn).toBeGreaterThan(0);
    connection.destroy();
  });

  it("sends the request again on a new connection when the server closed the idle one", async () => {
    const server = createServer((_req, res) => res.end("ok"));
    server.keepAliveTimeout = 50;
    const base = await listen(server);
    const { handler, next } = recorder();
    const connection = new HttpConnection(httpTarget(base), new SocketTracker(), handler);
    connection.send(connection.requestHead("/a"), 5_000);
    expect((await next()).answer?.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server drops the idle socket
    connection.send(connection.requestHead("/b"), 5_000);
    expect((await next()).answer?.body.toString()).toBe("ok");
    connection.destroy();
  });

  it("follows `connection: close` with a new connection for the next request", async () => {
    const ports = new Set<number>();
    const base = await listen(
      createServer((req, res) => {
        ports.add(req.socket.remotePort as number);
        res.setHeader("connection", "close");
        res.end("bye");
      }),
    );
    const { handler, next } = recorder();
    const connection = new HttpConnection(httpTarget(base), new SocketTracker(), handler);
    for (let i = 0; i < 3; i++) {
      connection.send(connection.requestHead("/"), 5_000);
      expect((await next()).answer?.body.toString()).toBe("bye");
    }
    expect(ports.size).toBe(3);
    expect(handler.resends).toBe(0);
    connection.destroy();
  });

  it("fails a request nobody answers after its timeout, and a refused connect at once", async () => {
    // Accepts, never answers.
    const base = await listen(createNetServer((socket) => accepted.add(socket)));
    const { handler, next } = recorder();
    const connection = new HttpConnection(httpTarget(base), new SocketTracker(), handler);
    const started = Date.now();
    connection.send(connection.requestHead("/"), 300);
    const { error } = await next();
    expect(error?.message).toMatch(/no answer within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    connection.destroy();

    const closed = await listen(createNetServer());
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const refused = recorder();
    const other = new HttpConnection(httpTarget(closed), new SocketTracker(), refused.handler);
    other.send(other.requestHead("/"), 5_000);
    expect((await refused.next()).error?.message).toMatch(/ECONNREFUSED/);
  });

  it("connects from the source address it is given", async () => {
    let remote = "";
    const base = await listen(
      createServer((req, res) => {
        remote = req.socket.remoteAddress ?? "";
        res.end("ok");
      }),
    );
    const { handler, next } = recorder();
    const connection = new HttpConnection(
      httpTarget(base, { address: "127.0.0.2", port: await freePort("127.0.0.2") }),
      new SocketTracker(),
      handler,
    );
    connection.send(connection.requestHead("/"), 5_000);
    expect((await next()).answer?.status).toBe(200);
    expect(remote).toBe("127.0.0.2");
    connection.destroy();
  });
});
