import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMemoryBroker } from "../reference-server/broker/memory.js";
import { Hub } from "../reference-server/hub.js";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { GAP_HEADER } from "../src/shared/protocol.js";
import {
  getJson,
  metricValue,
  poll,
  publish,
  SseReader,
  sleep,
  WsCollector,
  wsUrl,
} from "./server-helpers.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function track<T extends { close(): void }>(client: T): T {
  cleanups.push(() => client.close());
  return client;
}

let channelSeq = 0;
const freshChannel = () => `room-${++channelSeq}`;

async function publishMany(url: string, channel: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await publish(url, channel, { n: i });
}

describe("memory broker", () => {
  it("assigns gap-free ids per channel and reads after a cursor", async () => {
    const broker = createMemoryBroker({ maxCount: 100, maxAgeMs: 60_000 });
    for (let i = 0; i < 5; i++) await broker.publish("a", i);
    await broker.publish("b", "x");
    const read = await broker.read("a", 2);
    expect(read.messages.map((m) => m.id)).toEqual([3, 4, 5]);
    expect(read.messages.map((m) => m.body)).toEqual([2, 3, 4]);
    expect(read.gap).toBeUndefined();
    expect(read.lastId).toBe(5);
    expect((await broker.read("b", 0)).messages.map((m) => m.id)).toEqual([1]);
    expect((await broker.read("a", 0, 2)).messages.map((m) => m.id)).toEqual([1, 2]);
    expect(await broker.read("nobody", 0)).toEqual({ messages: [], jsons: [], lastId: 0 });
    await broker.close();
  });

  it("reports a gap when the count or age limit dropped messages after the cursor", async () => {
    const byCount = createMemoryBroker({ maxCount: 3, maxAgeMs: 60_000 });
    for (let i = 0; i < 10; i++) await byCount.publish("c", i);
    const read = await byCount.read("c", 4);
    expect(read.gap).toEqual({ from: 5, to: 7 });
    expect(read.messages.map((m) => m.id)).toEqual([8, 9, 10]);
    expect((await byCount.read("c", 7)).gap).toBeUndefined();

    const byAge = createMemoryBroker({ maxCount: 100, maxAgeMs: 50 });
    await byAge.publish("c", 1);
    await byAge.publish("c", 2);
    await sleep(120);
    const aged = await byAge.read("c", 0);
    expect(aged).toEqual({ messages: [], jsons: [], gap: { from: 1, to: 2 }, lastId: 2 });
  });

  it("fans out to listeners in order and stops after unsubscribe", async () => {
    const broker = createMemoryBroker({ maxCount: 10, maxAgeMs: 60_000 });
    const seen: string[] = [];
    const unsubscribe = await broker.subscribe("d", (message, json) => {
      expect(JSON.parse(json)).toEqual(message);
      seen.push(`${message.id}`);
    });
    await broker.publish("d", "one");
    await broker.publish("d", "two");
    unsubscribe();
    await broker.publish("d", "three");
    expect(seen).toEqual(["1", "2"]);
  });

  it("keeps presence for the TTL only", async () => {
    const broker = createMemoryBroker({ maxCount: 10, maxAgeMs: 60_000 });
    await broker.touchPresence("e", "zoe", 60_000);
    await broker.touchPresence("e", "al", 40);
    expect(await broker.presence("e")).toEqual(["al", "zoe"]);
    await sleep(100);
    expect(await broker.presence("e")).toEqual(["zoe"]);
  });
});

describe("hub", () => {
  it("holds one broker subscription per channel and drops it with the last subscriber", async () => {
    const broker = createMemoryBroker({ maxCount: 10, maxAgeMs: 60_000 });
    const hub = new Hub(broker, { deliveryDelayMs: 0 });
    const got: number[][] = [[], []];
    const subscribers = got.map((ids) => ({
      deliver: (d: { id: number }) => ids.push(d.id),
      gap: () => {},
    }));
    const a = await hub.join("f", subscribers[0] as never, null);
    const b = await hub.join("f", subscribers[1] as never, null);
    expect(hub.channelCount).toBe(1);
    await broker.publish("f", 1);
    hub.leave(a);
    await broker.publish("f", 2);
    hub.leave(b);
    expect(hub.channelCount).toBe(0);
    await broker.publish("f", 3);
    expect(got).toEqual([[1], [1, 2]]);
  });
});

describe("reference server transports (memory broker)", () => {
  let server: RunningServer;
  let url: string;

  beforeAll(async () => {
    server = await startReferenceServer({ heartbeatIntervalMs: 60_000 });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
  });

  it("publish answers 201 with the stored message", async () => {
    const channel = freshChannel();
    const res = await fetch(`${url}/api/messages`, {
      method: "POST",
      body: JSON.stringify({ channel, body: { hello: "world" } }),
    });
    expect(res.status).toBe(201);
    const message = (await res.json()) as { ts: unknown };
    expect(message).toMatchObject({ id: 1, channel, body: { hello: "world" } });
    expect(typeof message.ts).toBe("number");
  });

  it("short poll returns messages after the cursor, and 'from now' without one", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 3);
    const all = await poll(`${url}/api/messages?channel=${channel}&since=0`);
    expect(all.status).toBe(200);
    expect(all.body.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(all.body.cursor).toBe(3);
    const missed = await poll(`${url}/api/messages?channel=${channel}&since=2`);
    expect(missed.body).toMatchObject({ cursor: 3 });
    expect(missed.body.messages.map((m) => m.body)).toEqual([{ n: 3 }]);
    const empty = await poll(`${url}/api/messages?channel=${channel}&since=3`);
    expect(empty.body).toEqual({ messages: [], cursor: 3 });
    const fromNow = await poll(`${url}/api/messages?channel=${channel}`);
    expect(fromNow.body).toEqual({ messages: [], cursor: 3 });
  });

  it("long poll answers at once when messages exist, else holds until one is published", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 2);
    const immediate = await poll(`${url}/api/messages/poll?channel=${channel}&since=0&timeout=10`);
    expect(immediate.body.messages.map((m) => m.id)).toEqual([1, 2]);

    const held = poll(`${url}/api/messages/poll?channel=${channel}&since=2&timeout=10`);
    await sleep(150);
    await publish(url, channel, { late: true });
    const answer = await held;
    expect(answer.body.messages.map((m) => m.id)).toEqual([3]);
    expect(answer.body.cursor).toBe(3);
  });

  it("long poll times out with an empty answer and the same cursor", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 1);
    const answer = await poll(`${url}/api/messages/poll?channel=${channel}&since=1&timeout=0.3`);
    expect(answer.body).toEqual({ messages: [], cursor: 1 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'rtbench_connections{transport="long-poll"}')).toBe(0);
  });

  it("a held long poll is released when its client goes away", async () => {
    const channel = freshChannel();
    const abort = new AbortController();
    const held = fetch(`${url}/api/messages/poll?channel=${channel}&since=0&timeout=60`, {
      signal: abort.signal,
    }).catch(() => "aborted");
    await sleep(200);
    let metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'rtbench_connections{transport="long-poll"}')).toBe(1);
    abort.abort();
    expect(await held).toBe("aborted");
    await sleep(200);
    metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'rtbench_connections{transport="long-poll"}')).toBe(0);
  });

  it("SSE streams messages with ids in order, after a retry hint", async () => {
    const channel = freshChannel();
    const sse = track(await SseReader.open(`${url}/api/stream/${channel}`));
    expect(sse.response?.statusCode).toBe(200);
    expect(sse.response?.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(sse.response?.headers["cache-control"]).toBe("no-cache");
    await sleep(100);
    await publishMany(url, channel, 5);
    await sse.waitForMessages(5);
    expect(sse.retryMs).toBe(2000);
    expect(sse.messageIds).toEqual([1, 2, 3, 4, 5]);
    const first = sse.events[0];
    expect(JSON.parse(first?.data ?? "")).toMatchObject({ id: 1, channel, body: { n: 1 } });
  });

  it("SSE resumes after Last-Event-ID (header or query) with exactly the missed messages", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 5);
    const byHeader = track(
      await SseReader.open(`${url}/api/stream/${channel}`, { "last-event-id": "2" }),
    );
    const byQuery = track(await SseReader.open(`${url}/api/stream/${channel}?lastEventId=4`));
    await byHeader.waitForMessages(3);
    await byQuery.waitForMessages(1);
    await publish(url, channel, { n: 6 });
    await byHeader.waitForMessages(4);
    await byQuery.waitForMessages(2);
    expect(byHeader.messageIds).toEqual([3, 4, 5, 6]);
    expect(byQuery.messageIds).toEqual([5, 6]);
  });

  it("WebSocket delivers messages, acks publishes and answers app pings", async () => {
    const channel = freshChannel();
    const ws = track(await WsCollector.open(wsUrl(url, `/ws/chat/${channel}`)));
    await sleep(100);
    await publish(url, channel, { via: "http" });
    ws.send({ type: "publish", ref: "r-1", body: { via: "ws" } });
    ws.send({ type: "ping" });
    await ws.waitForMessages(2);
    expect(ws.messageIds).toEqual([1, 2]);
    const ack = await ws.waitFor((f) => f.type === "ack", "an ack");
    expect(ack).toEqual({ type: "ack", ref: "r-1", id: 2 });
    await ws.waitFor((f) => f.type === "pong", "a pong");
    const message = ws.frames.find((f) => f.type === "message" && f.id === 2);
    expect(message).toMatchObject({ channel, body: { via: "ws" } });
  });

  it("WebSocket resumes after since with exactly the missed messages, then goes live", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 4);
    const ws = track(await WsCollector.open(wsUrl(url, `/ws/chat/${channel}?since=1`)));
    await ws.waitForMessages(3);
    await publish(url, channel, { n: 5 });
    await ws.waitForMessages(4);
    expect(ws.messageIds).toEqual([2, 3, 4, 5]);
  });

  it("resume while publishing concurrently loses and repeats nothing", async () => {
    const channel = freshChannel();
    await publishMany(url, channel, 20);
    const total = 200;
    const publishing = (async () => {
      for (let i = 21; i <= total; i++) await publish(url, channel, { n: i });
    })();
    const ws = track(await WsCollector.open(wsUrl(url, `/ws/chat/${channel}?since=0`)));
    const sse = track(await SseReader.open(`${url}/api/stream/${channel}?lastEventId=0`));
    await publishing;
    await ws.waitForMessages(total);
    await sse.waitForMessages(total);
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    expect(ws.messageIds).toEqual(expected);
    expect(sse.messageIds).toEqual(expected);
  });

  it("fans the same message out to many subscribers of every transport", async () => {
    const channel = freshChannel();
    const sockets = await Promise.all(
      Array.from({ length: 10 }, () => WsCollector.open(wsUrl(url, `/ws/chat/${channel}`))),
    );
    const streams = await Promise.all(
      Array.from({ length: 10 }, () => SseReader.open(`${url}/api/stream/${channel}`)),
    );
    for (const client of [...sockets, ...streams]) track(client);
    await sleep(150);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      metricValue(metrics, 'rtbench_connections{transport="websocket"}'),
    ).toBeGreaterThanOrEqual(10);
    expect(metricValue(metrics, 'rtbench_connections{transport="sse"}')).toBeGreaterThanOrEqual(10);
    await publishMany(url, channel, 3);
    for (const client of [...sockets, ...streams]) await client.waitForMessages(3);
    for (const client of [...sockets, ...streams]) expect(client.messageIds).toEqual([1, 2, 3]);
  });

  it("presence lists users who made a request and serves /healthz and /metrics", async () => {
    const channel = freshChannel();
    await poll(`${url}/api/messages?channel=${channel}&user=ann`);
    const presence = await getJson(`${url}/api/presence/${channel}?user=ben`);
    expect(presence.json).toEqual({ channel, users: ["ann", "ben"] });
    const health = await getJson(`${url}/healthz`);
    expect(health.json).toMatchObject({ status: "ok", pid: process.pid, broker: "memory" });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, "rtbench_messages_in_total")).toBeGreaterThan(0);
    expect(
      metricValue(metrics, 'rtbench_messages_out_total{transport="short-poll"}'),
    ).toBeGreaterThan(0);
    expect(metricValue(metrics, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(metricValue(metrics, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
  });
});

describe("expired cursors yield a gap marker on every transport", () => {
  let server: RunningServer;
  let url: string;
  const channel = "gappy";

  beforeAll(async () => {
    server = await startReferenceServer({ history: { maxCount: 3, maxAgeMs: 60_000 } });
    url = server.url;
    await publishMany(url, channel, 6); // history keeps 4..6
  });
  afterAll(async () => {
    await server.close();
  });

  it("short poll: gap field and header, then what is left", async () => {
    const answer = await poll(`${url}/api/messages?channel=${channel}&since=1`);
    expect(answer.body.gap).toEqual({ from: 2, to: 3 });
    expect(answer.headers.get(GAP_HEADER)).toBe("2-3");
    expect(answer.body.messages.map((m) => m.id)).toEqual([4, 5, 6]);
    expect(answer.body.cursor).toBe(6);
  });

  it("long poll: answers at once with the gap", async () => {
    const answer = await poll(`${url}/api/messages/poll?channel=${channel}&since=0&timeout=10`);
    expect(answer.body.gap).toEqual({ from: 1, to: 3 });
    expect(answer.headers.get(GAP_HEADER)).toBe("1-3");
    expect(answer.body.messages.map((m) => m.id)).toEqual([4, 5, 6]);
  });

  it("SSE: a gap event before the retained messages", async () => {
    const sse = track(
      await SseReader.open(`${url}/api/stream/${channel}`, { "last-event-id": "2" }),
    );
    await sse.waitForMessages(3);
    expect(sse.events[0]).toEqual({
      event: "gap",
      id: null,
      data: '{"type":"gap","from":3,"to":3}',
    });
    expect(sse.messageIds).toEqual([4, 5, 6]);
  });

  it("WebSocket: a gap frame before the retained messages", async () => {
    const ws = track(await WsCollector.open(wsUrl(url, `/ws/chat/${channel}?since=0`)));
    await ws.waitForMessages(3);
    expect(ws.frames[0]).toEqual({ type: "gap", from: 1, to: 3 });
    expect(ws.messageIds).toEqual([4, 5, 6]);
  });
});

describe("delivery delay and shutdown", () => {
  it("deliveryDelayMs holds live deliveries but not history answers", async () => {
    const server = await startReferenceServer({ deliveryDelayMs: 400 });
    try {
      const channel = freshChannel();
      const ws = track(await WsCollector.open(wsUrl(server.url, `/ws/chat/${channel}`)));
      await sleep(100);
      const startedMs = performance.now();
      await publish(server.url, channel, { n: 1 });
      await ws.waitForMessages(1);
      // Lower bound only: the timer guarantees it; an upper bound would be flaky on a busy box.
      expect(performance.now() - startedMs).toBeGreaterThanOrEqual(350);
      const fromHistory = await poll(`${server.url}/api/messages?channel=${channel}&since=0`);
      expect(fromHistory.body.messages.map((m) => m.id)).toEqual([1]);
    } finally {
      await server.close();
    }
  });

  it("close() sends 1001 to WebSockets, ends SSE streams and answers held polls", async () => {
    const server = await startReferenceServer();
    const channel = freshChannel();
    const ws = track(await WsCollector.open(wsUrl(server.url, `/ws/chat/${channel}`)));
    const sse = track(await SseReader.open(`${server.url}/api/stream/${channel}`));
    const held = poll(`${server.url}/api/messages/poll?channel=${channel}&since=0&timeout=60`);
    await sleep(200);
    const startedMs = performance.now();
    await server.close();
    expect(performance.now() - startedMs).toBeLessThan(5500);
    expect(await ws.waitForClose()).toBe(1001);
    await sse.waitForEnd();
    expect((await held).body).toEqual({ messages: [], cursor: 0 });
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
