import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { createHttpPublisher, type Publisher } from "../src/clients/publishers.js";
import { createClient } from "../src/clients/registry.js";
import { SseClient } from "../src/clients/sse.js";
import {
  type ClientContext,
  type ClientHandlers,
  type ClientOptions,
  createClientContext,
  SocketTracker,
} from "../src/clients/types.js";
import { createWebSocketPublisher } from "../src/clients/ws-publisher.js";
import type { ProtocolName, TransportSettings } from "../src/shared/transports.js";
import { sleep, waitFor } from "./helpers/wait.js";

/** Keeps every socket a client registers (tracked or adopted), so a test can check they were all closed. */
class RecordingTracker extends SocketTracker {
  readonly sockets: Socket[] = [];
  override track(socket: Socket): void {
    this.sockets.push(socket);
    super.track(socket);
  }
  override adopt(socket: Socket): void {
    this.sockets.push(socket);
    super.adopt(socket);
  }
  allClosed(): boolean {
    return this.sockets.every((socket) => socket.destroyed);
  }
}

interface Recorder extends ClientHandlers {
  readyCalls: number[];
  messages: Array<{ id: string; body: unknown }>;
  gaps: Array<[string, string]>;
  breaks: string[];
  unrecognised: number;
}

function createRecorder(): Recorder {
  const recorder: Recorder = {
    readyCalls: [],
    messages: [],
    gaps: [],
    breaks: [],
    unrecognised: 0,
    onReady: (connectMs) => recorder.readyCalls.push(connectMs),
    onMessage: (id, body) => recorder.messages.push({ id, body }),
    onGap: (from, to) => recorder.gaps.push([from, to]),
    onBreak: (reason) => recorder.breaks.push(reason),
    onUnrecognised: () => {
      recorder.unrecognised++;
    },
  };
  return recorder;
}

function createContext(): ClientContext & { sockets: RecordingTracker } {
  return { ...createClientContext(), sockets: new RecordingTracker() };
}

async function connectionsGauge(baseUrl: string, transport: ProtocolName): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = text.match(
    new RegExp(`^rtbench_connections\\{transport="${transport}"\\} (\\d+)$`, "m"),
  );
  if (!match) throw new Error(`no connections gauge for ${transport} in /metrics`);
  return Number(match[1]);
}

const VARIANTS: Array<{ name: string; protocol: ProtocolName; settings: TransportSettings }> = [
  { name: "short-poll", protocol: "short-poll", settings: { intervalMs: 100 } },
  { name: "long-poll", protocol: "long-poll", settings: { timeoutMs: 2_000 } },
  { name: "sse (lean)", protocol: "sse", settings: { client: "lean" } },
  { name: "sse (eventsource)", protocol: "sse", settings: { client: "eventsource" } },
  { name: "sse-h2", protocol: "sse-h2", settings: { streamsPerConnection: 100 } },
  { name: "websocket", protocol: "websocket", settings: {} },
];

let server: RunningServer;
/** History of 5 messages: a cursor a few messages back is already out of it. */
let smallHistoryServer: RunningServer;
let publisher: Publisher;
let smallHistoryPublisher: Publisher;
let channelSeq = 0;
const publisherContext = createContext();

beforeAll(async () => {
  server = await startReferenceServer({ port: 0, heartbeatIntervalMs: 500 });
  publisher = createHttpPublisher(server.url, { connections: 2, context: publisherContext });
  smallHistoryServer = await startReferenceServer({
    port: 0,
    history: { maxCount: 5, maxAgeMs: 60_000 },
  });
  smallHistoryPublisher = createHttpPublisher(smallHistoryServer.url, {
    connections: 1,
    context: publisherContext,
  });
});

afterAll(async () => {
  await publisher?.close();
  await smallHistoryPublisher?.close();
  await server?.close();
  await smallHistoryServer?.close();
});

function freshChannel(): string {
  channelSeq++;
  return `clients-test-${process.pid}-${channelSeq}`;
}

function optionsFor(
  variant: (typeof VARIANTS)[number],
  channel: string,
  extra: Partial<ClientOptions> = {},
): ClientOptions & { handlers: Recorder; context: ReturnType<typeof createContext> } {
  return {
    baseUrl: server.url,
    channel,
    user: "tester",
    settings: variant.settings,
    requestTimeoutMs: 5_000,
    handlers: createRecorder(),
    context: createContext(),
    ...extra,
  } as ClientOptions & { handlers: Recorder; context: ReturnType<typeof createContext> };
}

/** Publishes `count` messages one after another and returns their ids. */
async function publishMany(channel: string, count: number, via = publisher): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push((await via.publish(channel, bodyFor(i))).id);
  }
  return ids;
}

function bodyFor(seq: number): unknown {
  return { seq, text: `héllo 😀 ${seq}`, nested: { list: [seq, null, true], quote: 'a "b"\nc' } };
}

describe.each(VARIANTS)("$name client against the reference server", (variant) => {
  it("becomes ready, receives published messages in order with bodies intact, counts bytes", async () => {
    const channel = freshChannel();
    const options = optionsFor(variant, channel);
    const client = createClient(variant.protocol, options);
    expect(client.protocol).toBe(variant.protocol);
    await client.connect();
    expect(options.handlers.readyCalls).toHaveLength(1);
    expect(options.handlers.readyCalls[0]).toBeGreaterThanOrEqual(0);

    const count = 20;
    const ids = await publishMany(channel, count);
    await waitFor(() => options.handlers.messages.length >= count, `${count} messages`);
    await sleep(150); // anything extra (a duplicate) would show up here
    client.close();

    expect(options.handlers.messages.map((m) => m.id)).toEqual(ids);
    expect(options.handlers.messages.map((m) => m.body)).toEqual(ids.map((_, i) => bodyFor(i)));
    expect(client.cursor).toBe(ids.at(-1));
    expect(options.handlers.breaks).toEqual([]);
    expect(options.handlers.gaps).toEqual([]);
    const totals = options.context.sockets.totals();
    expect(totals.bytesIn).toBeGreaterThan(0);
    expect(totals.bytesOut).toBeGreaterThan(0);
    expect(options.context.counters.requests).toBeGreaterThanOrEqual(1);

    // close() leaves nothing open, on either side.
    await waitFor(() => options.context.sockets.allClosed(), "client sockets to close");
    let gauge = -1;
    for (let i = 0; i < 100 && gauge !== 0; i++) {
      gauge = await connectionsGauge(server.url, variant.protocol);
      if (gauge !== 0) await sleep(50);
    }
    expect(gauge).toBe(0);
  });

  it("resumes with `since`: gets exactly the messages after it", async () => {
    const channel = freshChannel();
    const ids = await publishMany(channel, 8);
    const options = optionsFor(variant, channel, { since: ids[4] });
    const client = createClient(variant.protocol, options);
    await client.connect();
    await waitFor(() => options.handlers.messages.length >= 3, "3 resumed messages");
    const live = await publishMany(channel, 2);
    await waitFor(() => options.handlers.messages.length >= 5, "2 live messages");
    await sleep(150);
    client.close();
    expect(options.handlers.messages.map((m) => m.id)).toEqual([...ids.slice(5), ...live]);
    expect(options.handlers.gaps).toEqual([]);
  });

  it("reports a gap when the cursor is older than history", async () => {
    const channel = freshChannel();
    const ids = await publishMany(channel, 8, smallHistoryPublisher); // history keeps the last 5
    const options = optionsFor(variant, channel, {
      since: ids[0],
      baseUrl: smallHistoryServer.url,
    });
    const client = createClient(variant.protocol, options);
    await client.connect();
    await waitFor(
      () => options.handlers.gaps.length >= 1 && options.handlers.messages.length >= 5,
      "a gap and the retained messages",
    );
    await sleep(150);
    client.close();
    expect(options.handlers.gaps).toEqual([[ids[1], ids[2]]]);
    expect(options.handlers.messages.map((m) => m.id)).toEqual(ids.slice(3));
  });

  it("rejects connect() with the server's reason on a bad channel", async () => {
    const options = optionsFor(variant, "no spaces allowed!");
    const client = createClient(variant.protocol, options);
    await expect(client.connect()).rejects.toThrow(/400/);
    expect(options.handlers.readyCalls).toEqual([]);
    client.close();
    await waitFor(
      () => options.context.sockets.allClosed(),
      "sockets of a failed connect to close",
    );
  });

  it("reports onBreak once when the server closes the connection", async () => {
    const own = await startReferenceServer({ port: 0 });
    const options = { ...optionsFor(variant, freshChannel()), baseUrl: own.url };
    const client = createClient(variant.protocol, options);
    await client.connect();
    await own.close();
    await waitFor(() => options.handlers.breaks.length >= 1, "onBreak", 15_000);
    await sleep(300);
    client.close();
    expect(options.handlers.breaks).toHaveLength(1);
    await waitFor(() => options.context.sockets.allClosed(), "sockets to close after a break");
  });
});

describe("poll request counting", () => {
  it("short-poll: about one request per interval, all empty on a quiet channel", async () => {
    const options = optionsFor(VARIANTS[0] as (typeof VARIANTS)[number], freshChannel(), {
      settings: { intervalMs: 200 },
    });
    const client = createClient("short-poll", options);
    await client.connect();
    await sleep(2_000);
    client.close();
    const { requests, emptyPolls } = options.context.counters;
    // ~11 at a perfect rate; generous bounds for a busy 2-core machine.
    expect(requests).toBeGreaterThanOrEqual(6);
    expect(requests).toBeLessThanOrEqual(14);
    // Every answer was empty; a request still in flight at close() has no answer.
    expect(emptyPolls).toBeGreaterThanOrEqual(requests - 1);
    expect(emptyPolls).toBeLessThanOrEqual(requests);
    await sleep(500);
    expect(options.context.counters.requests).toBe(requests); // close() stopped the schedule
  });

  it("short-poll: empty polls exclude answers that carried messages", async () => {
    const channel = freshChannel();
    const options = optionsFor(VARIANTS[0] as (typeof VARIANTS)[number], channel);
    const client = createClient("short-poll", options);
    await client.connect();
    await publishMany(channel, 3);
    await waitFor(() => options.handlers.messages.length >= 3, "3 messages");
    client.close();
    const { requests, emptyPolls } = options.context.counters;
    expect(emptyPolls).toBeLessThan(requests);
    expect(emptyPolls).toBeGreaterThanOrEqual(1); // the first answer, without since, is empty
  });

  it("long-poll: one request per hold timeout on a quiet channel", async () => {
    const options = optionsFor(VARIANTS[1] as (typeof VARIANTS)[number], freshChannel(), {
      settings: { timeoutMs: 500 },
    });
    const client = createClient("long-poll", options);
    await client.connect();
    await sleep(2_100);
    client.close();
    const { requests, emptyPolls } = options.context.counters;
    // 1 short poll + ~4 held polls that time out; the last one was still held at close().
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThanOrEqual(8);
    expect(emptyPolls).toBeGreaterThanOrEqual(requests - 1);
    expect(emptyPolls).toBeLessThanOrEqual(requests);
  });

  it("long-poll: close() ends a held request at once", async () => {
    const options = optionsFor(VARIANTS[1] as (typeof VARIANTS)[number], freshChannel(), {
      settings: { timeoutMs: 30_000 },
    });
    const client = createClient("long-poll", options);
    await client.connect();
    let gauge = 0;
    for (let i = 0; i < 100 && gauge === 0; i++) {
      gauge = await connectionsGauge(server.url, "long-poll");
      if (gauge === 0) await sleep(20);
    }
    expect(gauge).toBeGreaterThanOrEqual(1);
    client.close();
    await waitFor(
      () => options.context.sockets.allClosed(),
      "the held poll's socket to close",
      5_000,
    );
  });
});

describe("lean SSE client extras", () => {
  it("keeps the server's retry advice and refreshes activity on heartbeats", async () => {
    const options = optionsFor(VARIANTS[2] as (typeof VARIANTS)[number], freshChannel());
    const client = createClient("sse", options);
    expect(client).toBeInstanceOf(SseClient);
    const sse = client as SseClient;
    await sse.connect();
    await waitFor(() => sse.retryMs !== undefined, "retry: advice");
    expect(sse.retryMs).toBe(2000);
    const before = sse.lastActivityMs;
    await waitFor(() => sse.lastActivityMs > before, "a heartbeat", 5_000);
    sse.close();
  });
});

describe("publishers", () => {
  it("HTTP publisher gets increasing ids back and rejects bad input with the status", async () => {
    const channel = freshChannel();
    const ids = await publishMany(channel, 3);
    expect(ids.map(Number)).toEqual([1, 2, 3]);
    expect(publisherContext.counters.requests).toBeGreaterThanOrEqual(3);
    await expect(publisher.publish("bad channel!", {})).rejects.toThrow(/400.*channel/);
  });

  it("both publishers send the idempotency key: a repeat gets the first id back", async () => {
    const channel = freshChannel();
    const first = await publisher.publish(channel, { n: 1 }, undefined, "run:k:1");
    expect(await publisher.publish(channel, { n: 1 }, undefined, "run:k:1")).toEqual(first);
    const wsPublisher = createWebSocketPublisher(server.url, { context: createContext() });
    try {
      expect(await wsPublisher.publish(channel, { n: 1 }, undefined, "run:k:1")).toEqual(first);
      expect((await wsPublisher.publish(channel, { n: 2 }, undefined, "run:k:2")).id).toBe("2");
    } finally {
      await wsPublisher.close();
    }
    expect((await publisher.publish(channel, { n: 3 })).id).toBe("3");
  });

  it("WebSocket publisher gets ids back from acks, on two channels, and subscribers see them", async () => {
    const context = createContext();
    const wsPublisher = createWebSocketPublisher(server.url, { context });
    const channelA = freshChannel();
    const channelB = freshChannel();
    const options = optionsFor(VARIANTS[4] as (typeof VARIANTS)[number], channelA);
    const subscriber = createClient("websocket", options);
    await subscriber.connect();

    const results = await Promise.all([
      wsPublisher.publish(channelA, { n: 1 }),
      wsPublisher.publish(channelA, { n: 2 }),
      wsPublisher.publish(channelB, { n: 3 }),
    ]);
    expect(results.map((r) => r.id)).toEqual(["1", "2", "1"]);
    await waitFor(() => options.handlers.messages.length >= 2, "2 messages");
    expect(options.handlers.messages).toEqual([
      { id: "1", body: { n: 1 } },
      { id: "2", body: { n: 2 } },
    ]);
    expect(context.sockets.sockets).toHaveLength(2); // one socket per channel
    expect(context.sockets.totals().bytesOut).toBeGreaterThan(0);

    subscriber.close();
    await wsPublisher.close();
    await waitFor(() => context.sockets.allClosed(), "publisher sockets to close", 5_000);
    await expect(wsPublisher.publish(channelA, {})).rejects.toThrow(/closed/);
  });

  it("WebSocket publisher rejects when the server refuses the channel", async () => {
    const wsPublisher = createWebSocketPublisher(server.url, { context: createContext() });
    await expect(wsPublisher.publish("bad channel!", {})).rejects.toThrow(/400/);
    await wsPublisher.close();
  });
});
