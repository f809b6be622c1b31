import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { waitFor } from "./helpers/wait.js";
import { publish } from "./server-helpers.js";

/**
 * SSE over cleartext HTTP/2 on the reference server's one port: HTTP/2
 * connections with prior knowledge are told apart from HTTP/1.1 by their
 * first bytes, so both work on the same URL.
 */
let server: RunningServer;
let session: ClientHttp2Session;

beforeAll(async () => {
  server = await startReferenceServer({ port: 0, heartbeatIntervalMs: 200, admin: true });
  session = connect(server.url);
  session.on("error", () => {});
});

afterAll(async () => {
  session?.close();
  await server?.close();
});

interface Opened {
  stream: ClientHttp2Stream;
  status: number;
  headers: Record<string, unknown>;
  text: () => string;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path, ...headers });
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.once("response", (head) =>
      resolve({ stream, status: Number(head[":status"]), headers: head, text: () => text }),
    );
    stream.once("error", reject);
  });
}

describe("HTTP/2 with prior knowledge on the HTTP/1.1 port", () => {
  it("streams a channel's events, with retry:, heartbeats and messages, many streams on one session", async () => {
    const streams = await Promise.all(
      ["h2-a", "h2-a", "h2-b"].map((channel) => get(`/api/stream/${channel}`)),
    );
    for (const s of streams) {
      expect(s.status).toBe(200);
      expect(String(s.headers["content-type"])).toMatch(/^text\/event-stream/);
    }
    const sent = await publish(server.url, "h2-a", { hello: 1 });
    await waitFor(() => streams.slice(0, 2).every((s) => s.text().includes('"hello":1')), "both");
    await waitFor(() => streams.every((s) => s.text().includes(": ping")), "heartbeats");
    const [first] = streams as [Opened];
    expect(first.text()).toMatch(/^retry: \d+\n\n/);
    expect(first.text()).toContain(`id: ${sent.id}\nevent: message\n`);
    expect(streams[2]?.text()).not.toContain("hello");
    const gauge = await (await fetch(`${server.url}/metrics`)).text();
    expect(gauge).toMatch(/rtbench_connections\{transport="sse-h2"\} 3/);
    for (const s of streams) s.stream.close();
  });

  it("resumes after Last-Event-ID, as SSE over HTTP/1.1 does", async () => {
    const first = await publish(server.url, "h2-resume", { n: 1 });
    await publish(server.url, "h2-resume", { n: 2 });
    await publish(server.url, "h2-resume", { n: 3 });
    const s = await get("/api/stream/h2-resume", { "last-event-id": String(first.id) });
    await waitFor(() => s.text().includes('"n":3'), "the missed messages");
    expect(s.text()).not.toContain('"n":1');
    expect(s.text().indexOf('"n":2')).toBeLessThan(s.text().indexOf('"n":3'));
    s.stream.close();
  });

  it("answers bad requests with a JSON error on the stream, and the session goes on", async () => {
    const badChannel = await get("/api/stream/no%20spaces");
    expect(badChannel.status).toBe(400);
    const unknown = await get("/nothing-here");
    expect(unknown.status).toBe(404);
    await waitFor(() => unknown.text().length > 0, "the 404 body");
    expect(JSON.parse(unknown.text())).toEqual({ error: expect.stringContaining("/nothing-here") });
    const ok = await get("/api/stream/h2-after-errors");
    expect(ok.status).toBe(200);
    ok.stream.close();
  });

  it("leaves HTTP/1.1 on the same port as it was", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const posted = await fetch(`${server.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ channel: "h1-still", body: 1 }),
    });
    expect(posted.status).toBe(201);
  });

  it("a drop resets the streams, not the session", async () => {
    const s = await get("/api/stream/h2-drop");
    const closed = new Promise<void>((resolve) => s.stream.once("close", resolve));
    const answer = await fetch(`${server.url}/admin/drop`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fraction: 1 }),
    });
    expect(((await answer.json()) as { dropped: number }).dropped).toBeGreaterThanOrEqual(1);
    await closed;
    expect(session.closed).toBe(false);
    const again = await get("/api/stream/h2-drop");
    expect(again.status).toBe(200);
    again.stream.close();
  });

  it("closes a connection that sends nothing at all within the request timeout", async () => {
    const own = await startReferenceServer({ port: 0, requestTimeoutMs: 300 });
    try {
      const socket = createConnection({ host: "127.0.0.1", port: own.port });
      const started = Date.now();
      await new Promise<void>((resolve) => socket.once("close", () => resolve()));
      // Before a server knows which protocol it speaks, nobody else would time it.
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await own.close();
    }
  });

  it("server shutdown ends open streams and closes the session", async () => {
    const own = await startReferenceServer({ port: 0 });
    const ownSession = connect(own.url);
    ownSession.on("error", () => {});
    const stream = ownSession.request({ ":path": "/api/stream/h2-shutdown" });
    stream.resume();
    await new Promise((resolve) => stream.once("response", resolve));
    const ended = new Promise<void>((resolve) => stream.once("end", resolve));
    const sessionClosed = new Promise<void>((resolve) => ownSession.once("close", resolve));
    const started = Date.now();
    await own.close();
    await ended;
    await sessionClosed;
    // Well inside the 4 s grace: the session was closed, not waited out.
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
