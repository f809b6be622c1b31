import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBroker } from "../reference-server/broker/memory.js";
import { createRedisBroker } from "../reference-server/broker/redis.js";
import {
  type Broker,
  type BrokerOptions,
  MemberCapError,
} from "../reference-server/broker/types.js";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { describeRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";
import {
  type Frame,
  publish,
  SseReader,
  sleep,
  until,
  WsCollector,
  wsUrl,
} from "./server-helpers.js";

/**
 * The read and tiered fan-out strategies, membership and presence events:
 * the broker's bookkeeping against both brokers, then the frames a real
 * server sends over real WebSockets.
 */
const LIMITS = { maxCount: 1000, maxAgeMs: 60_000 };
const TIERED: BrokerOptions = { unreadCounters: true };

function memberContract(makeBroker: (options: BrokerOptions) => Promise<Broker>): void {
  const open: Broker[] = [];
  const make = async (options = TIERED) => {
    const broker = await makeBroker(options);
    open.push(broker);
    return broker;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((broker) => broker.close()));
  });

  it("counts a message once for each offline member, and hands the count over when it returns", async () => {
    const broker = await make();
    expect(await broker.addMembers("c", ["a", "b", "c"])).toBe(3);
    expect(await broker.addMembers("c", ["a", "d"])).toBe(4);
    expect(await broker.memberOnline("c", "a")).toEqual({ unread: 0, lastId: 0 });
    for (let i = 0; i < 3; i++) await broker.publish("c", { i });
    expect(await broker.unread("c", "a")).toBe(0);
    expect(await broker.unread("c", "b")).toBe(3);
    expect(await broker.unread("c", "nobody")).toBeNull();
    expect(await broker.memberOnline("c", "b")).toEqual({ unread: 3, lastId: 3 });
    expect(await broker.unread("c", "b")).toBe(0);
    expect(await broker.memberOnline("c", "stranger")).toBeNull();
  });

  it("counts what a leaving member was not sent, and nothing twice for a second connection", async () => {
    const broker = await make();
    await broker.addMembers("c", ["a"]);
    await broker.memberOnline("c", "a");
    await broker.memberOnline("c", "a");
    for (let i = 0; i < 4; i++) await broker.publish("c", { i });
    // One of two connections closes: the member is still online.
    await broker.memberOffline("c", "a", 1);
    expect(await broker.unread("c", "a")).toBe(0);
    // The last one closes having been sent up to id 3: id 4 is unread, and so is id 5.
    await broker.memberOffline("c", "a", 3);
    await broker.publish("c", { i: 5 });
    expect(await broker.memberOnline("c", "a")).toEqual({ unread: 2, lastId: 5 });
  });

  it("numbers from its id base, and marks the gap before it for a cursor from a lower base", async () => {
    const broker = await make({ unreadCounters: false, idBase: 2_000_000 });
    expect((await broker.publish("c", {})).id).toBe(2_000_001);
    const read = await broker.read("c", 1_000_005, 10);
    expect(read.messages.map((m) => m.id)).toEqual([2_000_001]);
    expect(read.gap).toEqual({ from: 1_000_006, to: 2_000_000 });
  });

  it("keeps no counters without tiered fan-out", async () => {
    const broker = await make({ unreadCounters: false });
    await broker.addMembers("c", ["a"]);
    await broker.publish("c", {});
    expect(await broker.unread("c", "a")).toBe(0);
  });

  it("refuses members past the cap of a channel, adding none of them", async () => {
    const broker = await make();
    const limits = { maxPerChannel: 3, maxTotal: 100, ttlMs: 60_000 };
    expect(await broker.addMembers("c", ["a", "b"], limits)).toBe(2);
    await expect(broker.addMembers("c", ["b", "x", "y"], limits)).rejects.toThrow(MemberCapError);
    expect(await broker.unread("c", "x")).toBeNull();
    // Members already there do not count twice, nor a user listed twice.
    expect(await broker.addMembers("c", ["a", "b", "z", "z"], limits)).toBe(3);
  });

  it("sends signals to every listener of the channel, and stops after unsubscribe", async () => {
    const broker = await make();
    const got: string[] = [];
    const stop = await broker.subscribeSignals("c", (json) => got.push(json));
    await broker.publishSignal("c", '{"n":1}');
    await broker.publishSignal("other", '{"n":2}');
    for (let i = 0; i < 100 && got.length < 1; i++) await sleep(10);
    stop();
    await broker.publishSignal("c", '{"n":3}');
    await sleep(50);
    expect(got).toEqual(['{"n":1}']);
  });
}

describe("memory broker: members and signals", () => {
  memberContract(async (options) => createMemoryBroker(LIMITS, options));

  it("counts its own operations, one per offline member and message", async () => {
    const broker = createMemoryBroker(LIMITS, TIERED);
    await broker.addMembers("c", ["a", "b", "c"]);
    await broker.memberOnline("c", "a");
    await broker.publish("c", {});
    await broker.publish("c", {});
    expect(broker.operationCounts()).toMatchObject({ publish: 2, unreadIncrement: 4 });
    await broker.close();
  });
  it("caps members over all channels and forgets a channel's members after their expiry while none is online", async () => {
    // A short history age makes the sweep run every 100 ms.
    const broker = createMemoryBroker({ maxCount: 10, maxAgeMs: 200 }, TIERED);
    try {
      const limits = { maxPerChannel: 10, maxTotal: 4, ttlMs: 300 };
      await broker.addMembers("a", ["u1", "u2", "u3"], limits);
      await expect(broker.addMembers("b", ["u1", "u2"], limits)).rejects.toThrow(/more than the 4/);
      await broker.addMembers("b", ["u1"], limits);
      expect(broker.memberCount).toBe(4);
      // u1 is online on b: b keeps its members; a's expire.
      await broker.memberOnline("b", "u1");
      await waitFor(() => broker.memberCount === 1, "channel a's members expired", 5000);
      expect(await broker.unread("a", "u2")).toBeNull();
      expect(await broker.unread("b", "u1")).toBe(0);
      await broker.memberOffline("b", "u1", 0);
      await waitFor(() => broker.memberCount === 0, "channel b's members expired", 5000);
    } finally {
      await broker.close();
    }
  });
});

describeRedis("redis broker: members and signals", (redis) => {
  memberContract((options) =>
    createRedisBroker({
      url: redis.url,
      limits: LIMITS,
      keyPrefix: `test:${randomUUID()}:`,
      ...options,
    }),
  );
});

describe("reference server: fan-out strategies over WebSocket", () => {
  const servers: RunningServer[] = [];
  const sockets: WsCollector[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const start = async (options: Parameters<typeof startReferenceServer>[0]) => {
    const server = await startReferenceServer(options);
    servers.push(server);
    return server;
  };
  const connect = async (server: RunningServer, query: string) => {
    const socket = await WsCollector.open(wsUrl(server.url, `/ws/chat/room?${query}`));
    sockets.push(socket);
    return socket;
  };
  const putMembers = (server: RunningServer, body: unknown) =>
    fetch(`${server.url}/api/members/room`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("tiered: a returning member gets its unread count first, then exactly the messages it missed", async () => {
    const server = await start({ fanout: "tiered" });
    const added = await putMembers(server, { users: ["u1", "u2"] });
    expect(await added.json()).toEqual({ channel: "room", members: 2 });
    const first = await connect(server, "user=u1");
    await first.waitFor((f) => f.type === "unread", "the first unread frame");
    await publish(server.url, "room", { n: 1 });
    await first.waitForMessages(1);
    // u1 leaves with a clean close, four messages go by, u1 comes back from its cursor.
    first.ws.close(1000);
    await first.waitForClose();
    await sleep(50);
    for (let n = 2; n <= 5; n++) await publish(server.url, "room", { n });
    const unread = await (await fetch(`${server.url}/api/unread/room?user=u1`)).json();
    expect(unread).toEqual({ channel: "room", user: "u1", unread: 4 });
    expect((await fetch(`${server.url}/api/unread/room?user=nobody`)).status).toBe(404);
    const back = await connect(server, "user=u1&since=1");
    await back.waitForMessages(4);
    const kinds = back.frames.filter((f) => f.type !== "ping").map((f) => f.type);
    expect(kinds).toEqual(["unread", "message", "message", "message", "message"]);
    expect(back.frames[0]).toEqual({ type: "unread", count: 4, lastId: 5 });
    expect(back.messageIds).toEqual([2, 3, 4, 5]);
    // A user who is not a member gets no unread frame.
    const stranger = await connect(server, "user=u9");
    await publish(server.url, "room", { n: 6 });
    await stranger.waitForMessages(1);
    expect(stranger.frames.some((f) => f.type === "unread")).toBe(false);
  });

  it("refuses bad member lists with a 400 and keeps serving", async () => {
    const server = await start({ fanout: "tiered" });
    for (const body of [{ users: "u1" }, { users: [1] }, { users: ["bad user"] }, []]) {
      const res = await putMembers(server, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toHaveProperty("error");
    }
    expect((await fetch(`${server.url}/api/members/room`)).status).toBe(405);
  });

  it("PUT /api/members/C exists only with tiered fan-out, and answers 409 past a cap", async () => {
    for (const fanout of ["write", "read"] as const) {
      const server = await start({ fanout });
      expect((await putMembers(server, { users: ["u1"] })).status, fanout).toBe(404);
      expect((await fetch(`${server.url}/api/unread/room?user=u1`)).status, fanout).toBe(404);
    }
    const server = await start({
      fanout: "tiered",
      memberLimits: { maxPerChannel: 5_000, maxTotal: 10_000 },
    });
    const users = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => `u${from + i}`);
    expect((await putMembers(server, { users: users(0, 5000) })).status).toBe(200);
    const refused = await putMembers(server, { users: users(5000, 1) });
    expect(refused.status).toBe(409);
    expect((await refused.json()) as { error: string }).toEqual({
      error: "room would have 5001 members, more than the 5000 a channel may have",
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("read: subscribers are notified, fetch what they have not read, and a fresh one starts from now", async () => {
    const server = await start({ fanout: "read" });
    await publish(server.url, "room", { n: 1 });
    const socket = await connect(server, "user=u1");
    await socket.waitFor((f) => f.type === "notify", "the notify sent on join");
    expect(socket.frames[0]).toEqual({ type: "notify", lastId: 1 });
    await publish(server.url, "room", { n: 2 });
    await socket.waitFor((f) => f.type === "notify" && f.lastId === 2, "a notify for id 2");
    expect(socket.messageIds).toEqual([]);
    socket.send({ type: "fetch", since: 0 });
    const batch = (await socket.waitFor((f) => f.type === "batch", "a batch")) as Frame & {
      messages: { id: number }[];
      cursor: number;
    };
    expect(batch.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(batch.cursor).toBe(2);
    socket.send({ type: "fetch", since: -1 });
    expect(await socket.waitForClose()).toBe(1008);
  });

  it("answers a cursor from another history with a reset gap and this history from its start", async () => {
    const server = await start({});
    await publish(server.url, "room", { n: 1 });
    await publish(server.url, "room", { n: 2 });
    const socket = await connect(server, "since=57");
    await socket.waitForMessages(2);
    expect(socket.frames.slice(0, 3)).toMatchObject([
      { type: "gap", from: 1, to: 0, reset: true },
      { type: "message", id: 1 },
      { type: "message", id: 2 },
    ]);
    const poll = (await (
      await fetch(`${server.url}/api/messages?channel=room&since=99`)
    ).json()) as { messages: unknown[] };
    expect(poll).toMatchObject({ cursor: 2, gap: { from: 1, to: 0, reset: true } });
    expect(poll.messages).toHaveLength(2);
  });

  it("pushes joins and leaves to subscribers, batched per interval", async () => {
    const server = await start({ presenceEvents: true, presenceBatchMs: 200 });
    const watcher = await connect(server, "user=w");
    const others = await Promise.all(["a", "b", "c"].map((u) => connect(server, `user=${u}`)));
    (others[0] as WsCollector).ws.close(1000);
    const batch = (await watcher.waitFor(
      (f) => f.type === "presence" && (f.events as unknown[]).length >= 4,
      "a batch with three joins and a leave",
    )) as Frame & { events: { user: string; event: string; ts: number }[] };
    const seen = batch.events.map((e) => `${e.event} ${e.user}`);
    expect(seen).toEqual(expect.arrayContaining(["join a", "join b", "join c", "leave a"]));
    for (const event of batch.events) expect(event.ts).toBeGreaterThan(Date.now() - 10_000);
    // One frame carried them all: the batch, not one frame per event.
    const presenceFrames = watcher.frames.filter((f) => f.type === "presence");
    expect(presenceFrames.length).toBeLessThanOrEqual(2);
  });

  it("sends presence events to SSE subscribers too, one event each without batching", async () => {
    const server = await start({ presenceEvents: true, presenceBatchMs: 0 });
    const reader = await SseReader.open(`${server.url}/api/stream/room?user=w`);
    try {
      const joiner = await connect(server, "user=j");
      await until(
        reader,
        () => reader.events.some((e) => e.event === "presence" && e.data.includes('"user":"j"')),
        "an SSE presence event for j",
      );
      const event = reader.events.find((e) => e.event === "presence" && e.data.includes('"j"'));
      expect(JSON.parse(event?.data ?? "{}")).toMatchObject({
        type: "presence",
        events: [{ user: "j", event: "join" }],
      });
      joiner.ws.close(1000);
    } finally {
      reader.close();
    }
  });
});
