import { EventEmitter } from "node:events";
import { Agent, get } from "node:http";
import type { Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { publish, SseReader, until, WsCollector, wsUrl } from "./server-helpers.js";

const CHANNEL = "drop-room";

async function postDrop(
  baseUrl: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/admin/drop`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** GET over node:http, so the test chooses the connection (a keep-alive agent, or its own). */
function httpGet(url: string, agent: Agent | false): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      const { socket } = res;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, socket }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** Re-checks a socket's state whenever it closes. */
function emitterOf(socket: Socket): EventEmitter {
  const emitter = new EventEmitter();
  socket.once("close", () => emitter.emit("change"));
  return emitter;
}

async function waitForGauge(baseUrl: string, transport: string, value: number): Promise<void> {
  const series = `rtbench_connections{transport="${transport}"} ${value}\n`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    if (text.includes(series)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${series.trim()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("POST /admin/drop with --admin", () => {
  let server: RunningServer;
  const clients: Array<{ close(): void }> = [];

  beforeAll(async () => {
    server = await startReferenceServer({ admin: true });
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it("closes half of 10 WebSockets + 10 SSE streams at once; the rest keep receiving", async () => {
    const sockets = await Promise.all(
      Array.from({ length: 10 }, () => WsCollector.open(wsUrl(server.url, `/ws/chat/${CHANNEL}`))),
    );
    const streams = await Promise.all(
      Array.from({ length: 10 }, () => SseReader.open(`${server.url}/api/stream/${CHANNEL}`)),
    );
    clients.push(...sockets, ...streams);
    // SSE ends on "close" too: a destroyed response may end without "end" or "error".
    const sseClosed = new Set<SseReader>();
    for (const stream of streams) stream.response?.once("close", () => sseClosed.add(stream));

    // Every subscriber is live (joined its channel) once it has the first message.
    const first = await publish(server.url, CHANNEL, { n: 1 });
    await Promise.all([...sockets, ...streams].map((c) => c.waitForMessages(1)));

    const { status, json } = await postDrop(server.url, { fraction: 0.5 });
    expect(status).toBe(200);
    expect(json).toEqual({ dropped: 10 });

    const isClosed = () => sockets.filter((s) => s.closeCode !== null).length + sseClosed.size;
    const deadline = Date.now() + 5000;
    while (isClosed() < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(isClosed()).toBe(10);
    // Terminated, not closed with a handshake: the client sees an abnormal closure.
    for (const ws of sockets.filter((s) => s.closeCode !== null)) expect(ws.closeCode).toBe(1006);

    const survivors = [
      ...sockets.filter((s) => s.closeCode === null),
      ...streams.filter((s) => !sseClosed.has(s)),
    ];
    expect(survivors).toHaveLength(10);
    const second = await publish(server.url, CHANNEL, { n: 2 });
    await Promise.all(survivors.map((c) => c.waitForMessages(2)));
    for (const survivor of survivors) expect(survivor.messageIds).toEqual([first.id, second.id]);
    // Still nothing more closed after the drop.
    expect(isClosed()).toBe(10);
  });

  it("resets a held long poll and an idle keep-alive poll socket; fraction defaults to 1", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // After its answer, the short poll's socket stays open in the agent, idle.
      const shortPoll = await httpGet(`${server.url}/api/messages?channel=${CHANNEL}`, agent);
      expect(shortPoll.status).toBe(200);
      const pollSocket = shortPoll.socket;

      // Its own connection (agent: false), held by the server for up to 30 s.
      const held = httpGet(`${server.url}/api/messages/poll?channel=${CHANNEL}&timeout=30`, false);
      const heldOutcome = held.then(
        (res) => `answered ${res.status}`,
        (error: Error) => `failed: ${error.message}`,
      );
      await waitForGauge(server.url, "long-poll", 1);

      const { status, json } = await postDrop(server.url, {});
      expect(status).toBe(200);
      // The held poll's socket and the idle short-poll socket; /metrics and this
      // request went over fetch's own sockets, which carried no poll.
      expect(json).toEqual({ dropped: 2 });
      expect(await heldOutcome).toMatch(/^failed/);
      await until(
        emitterOf(pollSocket),
        () => pollSocket.destroyed,
        "the idle poll socket to close",
      );
      expect(pollSocket.destroyed).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it("refuses a fraction outside (0, 1] with a 400 and says why", async () => {
    for (const fraction of [0, 1.5, "half"]) {
      const { status, json } = await postDrop(server.url, { fraction });
      expect(status).toBe(400);
      expect(json.error).toMatch(/"fraction" must be a number above 0 and at most 1/);
    }
  });
});

describe("POST /admin/drop without --admin", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startReferenceServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("does not exist (404), and a WebSocket stays open", async () => {
    const ws = await WsCollector.open(wsUrl(server.url, `/ws/chat/${CHANNEL}`));
    try {
      const { status, json } = await postDrop(server.url, { fraction: 1 });
      expect(status).toBe(404);
      expect(json.error).toBe("no route for POST /admin/drop");
      await publish(server.url, CHANNEL, { n: 1 });
      await ws.waitForMessages(1);
      expect(ws.closeCode).toBeNull();
    } finally {
      ws.close();
    }
  });
});
