import { randomUUID } from "node:crypto";
import { get, type IncomingMessage } from "node:http";
import { afterEach, expect, it } from "vitest";
import WebSocket from "ws";
import { createRedisBroker } from "../reference-server/broker/redis.js";
import type { Broker } from "../reference-server/broker/types.js";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import type { Message, PollResponse } from "../src/shared/protocol.js";
import { describeRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What one live subscriber received, in arrival order. */
interface Received {
  messages: Message[];
  /** Resolves once the client side is really closed, so a server shutting down next sees no half-open stream. */
  close(): Promise<void>;
}

/** A WebSocket subscriber resuming after `since`, so it cannot miss what is published while it joins. */
async function openWebSocket(baseUrl: string, channel: string, since: number): Promise<Received> {
  const socket = new WebSocket(
    `${baseUrl.replace(/^http/, "ws")}/ws/chat/${channel}?since=${since}`,
  );
  const messages: Message[] = [];
  socket.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { type: string } & Message;
    if (frame.type !== "message") return;
    const { type: _type, ...message } = frame;
    messages.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    messages,
    close: () => {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.terminate();
      return closed;
    },
  };
}

/**
 * An SSE subscriber parsing `data:` lines of `message` events. node:http rather than
 * fetch: close() must destroy the socket itself, so a server shut down next finds no
 * half-open stream (an aborted fetch may leave its socket to the pool).
 */
async function openSse(baseUrl: string, channel: string, since: number): Promise<Received> {
  const request = get(`${baseUrl}/api/stream/${channel}?lastEventId=${since}`, {
    headers: { accept: "text/event-stream" },
  });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    request.once("response", resolve);
    request.once("error", reject);
  });
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
  const messages: Message[] = [];
  let buffered = "";
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf("\n\n");
    while (end !== -1) {
      const lines = buffered.slice(0, end).split("\n");
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf("\n\n");
      if (!lines.includes("event: message")) continue;
      const data = lines.find((line) => line.startsWith("data: "));
      if (data) messages.push(JSON.parse(data.slice("data: ".length)) as Message);
    }
  });
  response.on("error", () => {}); // destroyed by close()
  const socket = request.socket;
  return {
    messages,
    close: () => {
      if (!socket || socket.destroyed) return Promise.resolve();
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      request.destroy();
      return closed;
    },
  };
}

async function publishHttp(baseUrl: string, channel: string, body: unknown): Promise<Message> {
  const response = await fetch(`${baseUrl}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ channel, body }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Message;
}

describeRedis("reference servers sharing one Redis", (redis) => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Two in-process instances, each with its own Redis broker, sharing one key prefix. */
  async function twoInstances(): Promise<[RunningServer, RunningServer]> {
    const keyPrefix = `test:${randomUUID()}:`;
    const servers: RunningServer[] = [];
    for (const name of ["a", "b"]) {
      const broker: Broker = await createRedisBroker({
        url: redis.url,
        limits: { maxCount: 1000, maxAgeMs: 60_000 },
        keyPrefix,
      });
      cleanups.push(() => broker.close());
      const server = await startReferenceServer({ broker, instanceId: name });
      cleanups.push(() => server.close());
      servers.push(server);
    }
    return servers as [RunningServer, RunningServer];
  }

  it("delivers a message published on instance A to subscribers of every transport on instance B", async () => {
    const [a, b] = await twoInstances();
    const channel = "cross";
    const ws = await openWebSocket(b.url, channel, 0);
    cleanups.push(ws.close);
    const sse = await openSse(b.url, channel, 0);
    cleanups.push(sse.close);
    const longPoll = fetch(`${b.url}/api/messages/poll?channel=${channel}&since=0&timeout=20`);

    const published = [
      await publishHttp(a.url, channel, { text: "one" }),
      await publishHttp(a.url, channel, { text: "two" }),
      await publishHttp(a.url, channel, { text: "three" }),
    ];
    expect(published.map((m) => m.id)).toEqual([1, 2, 3]);

    const held = await longPoll;
    expect(held.status).toBe(200);
    const heldAnswer = (await held.json()) as PollResponse;
    expect(heldAnswer.messages.length).toBeGreaterThan(0);
    expect(heldAnswer.messages[0]).toEqual(published[0]);

    const shortPoll = await fetch(`${b.url}/api/messages?channel=${channel}&since=0`);
    expect(shortPoll.status).toBe(200);
    expect(await shortPoll.json()).toEqual({ messages: published, cursor: 3 });

    await waitFor(
      () => [ws, sse].every((r) => r.messages.length >= 3),
      "3 messages over WebSocket and SSE on B",
      15_000,
    );
    expect(ws.messages).toEqual(published);
    expect(sse.messages).toEqual(published);
  });

  it("gives subscribers on both instances one identical gap-free sequence under concurrent publishing", async () => {
    const [a, b] = await twoInstances();
    const channel = "contended";
    const subscribers = [
      await openWebSocket(a.url, channel, 0),
      await openWebSocket(b.url, channel, 0),
      await openSse(a.url, channel, 0),
      await openSse(b.url, channel, 0),
    ];
    for (const subscriber of subscribers) cleanups.push(subscriber.close);

    const perInstance = 200;
    const concurrency = 10;
    const publishFrom = async (server: RunningServer, from: string) => {
      const ids: number[] = [];
      // A few publishers per instance at once, not 200 sockets.
      await Promise.all(
        range(1, concurrency).map(async (worker) => {
          for (let n = worker; n <= perInstance; n += concurrency) {
            ids.push((await publishHttp(server.url, channel, { from, n })).id);
          }
        }),
      );
      return ids;
    };
    const [fromA, fromB] = await Promise.all([publishFrom(a, "a"), publishFrom(b, "b")]);
    const total = 2 * perInstance;
    expect([...fromA, ...fromB].sort((x, y) => x - y)).toEqual(range(1, total));

    await waitFor(
      () => subscribers.every((s) => s.messages.length >= total),
      `${total} messages on every subscriber`,
      15_000,
    );
    const reference = subscribers[0]?.messages ?? [];
    expect(reference.map((m) => m.id)).toEqual(range(1, total));
    for (const subscriber of subscribers) expect(subscriber.messages).toEqual(reference);
    // Bodies from both instances are interleaved in the one sequence.
    const origins = new Set(reference.map((m) => (m.body as { from: string }).from));
    expect(origins).toEqual(new Set(["a", "b"]));
  });
});
