import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryBroker } from "../reference-server/broker/memory.js";
import { createNatsBroker } from "../reference-server/broker/nats.js";
import { createRedisBroker } from "../reference-server/broker/redis.js";
import type { Broker, HistoryLimits } from "../reference-server/broker/types.js";
import { natsService } from "../src/services/nats.js";
import type { RunningService } from "../src/services/types.js";
import type { Gap, Message } from "../src/shared/protocol.js";
import { describeRedis } from "./helpers/redis.js";
import { describeService, itService, type ServiceFixture } from "./helpers/services.js";
import { sleep, waitFor } from "./helpers/wait.js";

type MakeBroker = (limits: HistoryLimits) => Promise<Broker>;

const ROOMY: HistoryLimits = { maxCount: 1000, maxAgeMs: 60_000 };

/** Records what a listener received, checking the shared-bytes promise on every message. */
function collector() {
  const ids: number[] = [];
  const messages: Message[] = [];
  let badJson = 0;
  return {
    ids,
    messages,
    get badJson() {
      return badJson;
    },
    listener: (message: Message, json: string) => {
      if (json !== JSON.stringify(message)) badJson++;
      ids.push(message.id);
      messages.push(message);
    },
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function brokerContract(makeBroker: MakeBroker): void {
  const open: Broker[] = [];
  const make = async (limits: HistoryLimits = ROOMY) => {
    const broker = await makeBroker(limits);
    open.push(broker);
    return broker;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((broker) => broker.close()));
  });

  it("assigns ids from 1, one by one, independently per channel", async () => {
    const broker = await make();
    const a1 = await broker.publish("room-a", { n: 1 });
    const a2 = await broker.publish("room-a", { n: 2 });
    const b1 = await broker.publish("room-b", "hello");
    const a3 = await broker.publish("room-a", null);
    expect([a1.id, a2.id, a3.id]).toEqual([1, 2, 3]);
    expect(b1.id).toBe(1);
    expect(a1).toMatchObject({ channel: "room-a", body: { n: 1 } });
    expect(b1).toMatchObject({ channel: "room-b", body: "hello" });
    expect(a3.body).toBeNull();
    expect(typeof a1.ts).toBe("number");
    expect(Math.abs(a1.ts - Date.now())).toBeLessThan(60_000);
    expect((await broker.read("room-a", 0)).lastId).toBe(3);
    expect((await broker.read("room-b", 0)).lastId).toBe(1);
    expect(await broker.read("never-used", 0)).toEqual({ messages: [], jsons: [], lastId: 0 });
  });

  it("reads exactly the messages after a cursor, up to a limit", async () => {
    const broker = await make();
    const published: Message[] = [];
    for (let n = 1; n <= 10; n++) published.push(await broker.publish("feed", { n }));

    const after4 = await broker.read("feed", 4);
    expect(after4.messages.map((m) => m.id)).toEqual(range(5, 10));
    expect(after4.messages).toEqual(published.slice(4));
    expect(after4.jsons).toEqual(published.slice(4).map((m) => JSON.stringify(m)));
    expect(after4.gap).toBeUndefined();
    expect(after4.lastId).toBe(10);

    expect((await broker.read("feed", 4, 3)).messages.map((m) => m.id)).toEqual([5, 6, 7]);
    // A byte cap: each message's JSON is about 60 bytes; the first always fits.
    const size = JSON.stringify(published[4]).length;
    expect((await broker.read("feed", 4, 100, 2 * size + 5)).messages.map((m) => m.id)).toEqual([
      5, 6,
    ]);
    expect((await broker.read("feed", 4, 100, 1)).messages.map((m) => m.id)).toEqual([5]);
    const atEnd = await broker.read("feed", 10);
    expect(atEnd).toEqual({ messages: [], jsons: [], lastId: 10 });
  });

  it("trims history to the count limit and reports the gap to an old cursor", async () => {
    const broker = await make({ maxCount: 5, maxAgeMs: 60_000 });
    for (let n = 1; n <= 12; n++) await broker.publish("small", { n });

    const fromStart = await broker.read("small", 0);
    expect(fromStart.messages.map((m) => m.id)).toEqual(range(8, 12));
    expect(fromStart.gap).toEqual({ from: 1, to: 7 });
    expect(fromStart.lastId).toBe(12);

    expect((await broker.read("small", 6)).gap).toEqual({ from: 7, to: 7 });
    const retained = await broker.read("small", 7);
    expect(retained.gap).toBeUndefined();
    expect(retained.messages.map((m) => m.id)).toEqual(range(8, 12));
  });

  it("drops messages older than the age limit", async () => {
    const maxAgeMs = 600;
    const broker = await make({ maxCount: 100, maxAgeMs });
    for (let n = 1; n <= 3; n++) await broker.publish("aging", { n });
    await sleep(maxAgeMs + 300);
    for (let n = 4; n <= 5; n++) await broker.publish("aging", { n });

    const fresh = await broker.read("aging", 0);
    expect(fresh.messages.map((m) => m.id)).toEqual([4, 5]);
    expect(fresh.gap).toEqual({ from: 1, to: 3 });

    await sleep(maxAgeMs + 300);
    // Nothing was published since: age applies on read too.
    expect(await broker.read("aging", 0)).toEqual({
      messages: [],
      jsons: [],
      gap: { from: 1, to: 5 },
      lastId: 5,
    });
    expect((await broker.read("aging", 5)).gap).toBeUndefined();
  });

  it("delivers live messages in id order, with the JSON serialised once", async () => {
    const broker = await make();
    await broker.publish("live", "before subscribe");
    const first = collector();
    const second = collector();
    await broker.subscribe("live", first.listener);
    await broker.subscribe("live", second.listener);
    const bodies = [{ text: "hi", nested: { a: [1, 2] } }, "plain", 42, null, { 'quote"d': "é" }];
    for (const body of bodies) await broker.publish("live", body);

    await waitFor(() => first.ids.length >= 5 && second.ids.length >= 5, "5 live messages");
    expect(first.ids).toEqual([2, 3, 4, 5, 6]);
    expect(second.ids).toEqual([2, 3, 4, 5, 6]);
    expect(first.messages.map((m) => m.body)).toEqual(bodies);
    expect(first.badJson).toBe(0);
    expect(second.badJson).toBe(0);
    expect(first.messages.every((m) => m.channel === "live")).toBe(true);
  });

  it("stores a publish repeating a dedupe key once, and answers it with the first message", async () => {
    const broker = await make();
    const seen = collector();
    await broker.subscribe("retry", seen.listener);
    const first = await broker.publish("retry", { n: 1 }, "run-a:retry:1");
    const again = await broker.publish("retry", { n: 1 }, "run-a:retry:1");
    const other = await broker.publish("retry", { n: 2 }, "run-a:retry:2");
    // The key is the channel's: the same key elsewhere is a message of its own.
    const elsewhere = await broker.publish("retry-b", { n: 1 }, "run-a:retry:1");
    const unkeyed = await broker.publish("retry", { n: 3 });
    expect(again).toEqual(first);
    expect([first.id, other.id, unkeyed.id, elsewhere.id]).toEqual([1, 2, 3, 1]);
    await waitFor(() => seen.ids.length >= 3, "3 live messages");
    await sleep(100);
    expect(seen.ids).toEqual([1, 2, 3]);
    expect((await broker.read("retry", 0)).messages.map((m) => m.body)).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
  });

  it("stops delivering to a listener once it unsubscribed", async () => {
    const broker = await make();
    const leaving = collector();
    const staying = collector();
    const unsubscribe = await broker.subscribe("chat", leaving.listener);
    await broker.subscribe("chat", staying.listener);
    await broker.publish("chat", 1);
    await waitFor(() => leaving.ids.length === 1 && staying.ids.length === 1, "first message");

    unsubscribe();
    await broker.publish("chat", 2);
    await broker.publish("chat", 3);
    await waitFor(() => staying.ids.length === 3, "messages 2 and 3");
    await sleep(100);
    expect(leaving.ids).toEqual([1]);
    expect(staying.ids).toEqual([1, 2, 3]);
  });

  it("lists present users until their TTL expires", async () => {
    const broker = await make();
    await broker.touchPresence("lobby", "alice", 400);
    await broker.touchPresence("lobby", "bob", 30_000);
    await broker.touchPresence("elsewhere", "carol", 30_000);
    expect(await broker.presence("lobby")).toEqual(["alice", "bob"]);
    expect(await broker.presence("empty")).toEqual([]);

    await sleep(700);
    expect(await broker.presence("lobby")).toEqual(["bob"]);
    await broker.touchPresence("lobby", "alice", 30_000);
    expect(await broker.presence("lobby")).toEqual(["alice", "bob"]);
    expect(await broker.presence("elsewhere")).toEqual(["carol"]);
  });

  it("keeps each touch's own TTL when touches arrive together", async () => {
    const broker = await make();
    await Promise.all([
      broker.touchPresence("hall", "alice", 400),
      broker.touchPresence("hall", "bob", 30_000),
      broker.touchPresence("hall", "bob", 30_000),
      broker.touchPresence("porch", "carol", 30_000),
    ]);
    expect(await broker.presence("hall")).toEqual(["alice", "bob"]);
    await sleep(700);
    expect(await broker.presence("hall")).toEqual(["bob"]);
    expect(await broker.presence("porch")).toEqual(["carol"]);
  });
}

/** Several instances of one broker kind sharing a key prefix, as `rtbench run` starts them. */
type MakeInstance = (keyPrefix: string, log?: (line: string) => void) => Promise<Broker>;

/**
 * What every broker shared between instances must do: one gap-free id
 * sequence for every subscriber on every instance while several instances
 * publish at once, and ids that keep increasing across a restart of the
 * backing service (whether or not it kept its data).
 */
function sharedBrokerContract(
  makeInstance: MakeInstance,
  service: ServiceFixture,
  /** Whether a restart of the service empties it (Redis without persistence). */
  restartLosesData = true,
): void {
  const open: Broker[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((broker) => broker.close()));
  });
  const instances = async (count: number, log?: (line: string) => void) => {
    const keyPrefix = `test:${randomUUID()}:`;
    const brokers: Broker[] = [];
    for (let i = 0; i < count; i++) {
      const broker = await makeInstance(keyPrefix, log);
      open.push(broker);
      brokers.push(broker);
    }
    return { brokers, keyPrefix };
  };

  it("gives every subscriber on every instance one gap-free id sequence while 3 instances publish at once", async () => {
    const { brokers } = await instances(3);
    const seen = [collector(), collector(), collector(), collector()];
    for (const [index, c] of seen.entries()) {
      await (brokers[index % brokers.length] as Broker).subscribe("busy", c.listener);
    }
    const perInstance = 150;
    const total = perInstance * brokers.length;
    const published = await Promise.all(
      brokers.map((broker, index) =>
        Promise.all(range(1, perInstance).map((n) => broker.publish("busy", { from: index, n }))),
      ),
    );
    const assigned = published
      .flat()
      .map((m) => m.id)
      .sort((x, y) => x - y);
    expect(assigned).toEqual(range(1, total));
    await waitFor(() => seen.every((c) => c.ids.length >= total), `${total} messages everywhere`);
    for (const c of seen) {
      expect(c.ids).toEqual(range(1, total));
      expect(c.badJson).toBe(0);
    }
    // Every subscriber saw the same bytes in the same order, and history agrees.
    expect(seen[1]?.messages).toEqual(seen[0]?.messages);
    expect(seen[3]?.messages).toEqual(seen[0]?.messages);
    const history = await (brokers[1] as Broker).read("busy", 0, total);
    expect(history.messages).toEqual(seen[0]?.messages);
  });

  it("keeps ids increasing, and delivering, after its service restarts", async () => {
    const lines: string[] = [];
    const { brokers } = await instances(2, (line) => lines.push(line));
    const [listening, publishing] = brokers as [Broker, Broker];
    const seen = collector();
    const gaps: Gap[] = [];
    await listening.subscribe("restart", seen.listener, (gap) => gaps.push(gap));
    for (let n = 1; n <= 3; n++) await publishing.publish("restart", { n });
    await waitFor(() => seen.ids.length === 3, "3 messages");

    await service.restart();
    const published = await publishUntilTaken(publishing, "restart", { n: 4 });
    expect(published?.id).toBe(4);
    await waitFor(() => seen.ids.length === 4, "the 4th message");
    expect(seen.ids).toEqual([1, 2, 3, 4]);
    // Ids continued above everything delivered: nothing to mark.
    expect(gaps).toEqual([]);
    expect(lines.some((line) => /lost|reconnect/.test(line))).toBe(true);
  });

  it.runIf(restartLosesData)(
    "marks no gap after a restart when every instance knew every id",
    async () => {
      const lines: string[] = [];
      const { brokers } = await instances(2, (line) => lines.push(line));
      const [first, second] = brokers as [Broker, Broker];
      const seen = [collector(), collector()];
      const gaps: Gap[] = [];
      for (const [index, broker] of brokers.entries()) {
        await broker.subscribe(
          "quiet",
          (seen[index] as ReturnType<typeof collector>).listener,
          (gap) => gaps.push(gap),
        );
      }
      for (let n = 1; n <= 5; n++) await first.publish("quiet", { n });
      await waitFor(() => seen.every((c) => c.ids.length === 5), "5 messages on both");

      await service.restart();
      // Both instances raised the counter before anyone publishes: the second
      // found it at 5 with no message stored since the loss, which is no gap.
      await waitFor(
        () => lines.filter((line) => /quiet: .*lost its data/.test(line)).length === 2,
        "both instances noticed the loss",
      );
      const after = await publishUntilTaken(second, "quiet", { n: 6 });
      expect(after?.id).toBe(6);
      await waitFor(() => seen.every((c) => c.ids.length === 6), "the 6th message on both");
      expect(gaps).toEqual([]);
    },
  );

  it("never gives a listener an id again, nor loses a message silently, when an instance that knows fewer ids publishes first after a restart", async () => {
    const lines: string[] = [];
    const { brokers, keyPrefix } = await instances(1, (line) => lines.push(line));
    const listening = brokers[0] as Broker;
    const seen = collector();
    const gaps: Gap[] = [];
    await listening.subscribe("amnesia", seen.listener, (gap) => gaps.push(gap));
    for (let n = 1; n <= 5; n++) await listening.publish("amnesia", { n });
    await waitFor(() => seen.ids.length === 5, "5 messages");

    // Redis comes back empty; NATS with its store.
    await service.restart();
    // An instance that never saw the channel (its id floor is 0) publishes first.
    const late = await makeInstance(keyPrefix, (line) => lines.push(line));
    open.push(late);
    const published: Message[] = [];
    for (let n = 1; n <= 3; n++) {
      const message = await publishUntilTaken(late, "amnesia", { late: n });
      if (message) published.push(message);
    }
    expect(published).toHaveLength(3);
    // Delivered, or inside a gap the listener was told of: nothing else.
    const accounted = (id: number) =>
      seen.messages.some((m) => m.id === id && (m.body as { late?: number }).late !== undefined) ||
      gaps.some((gap) => gap.from <= id && id <= gap.to);
    await waitFor(
      () => published.every((m) => accounted(m.id)),
      `ids ${published.map((m) => m.id).join(", ")} delivered or marked; delivered ${seen.ids.join(", ")}; gaps ${JSON.stringify(gaps)}`,
    );
    // Once the listening instance caught up, ids continue above everything it delivered.
    const after = await late.publish("amnesia", { late: 4 });
    expect(after.id).toBeGreaterThan(5);
    await waitFor(() => seen.ids.includes(after.id), `id ${after.id} delivered`);
    for (let i = 1; i < seen.ids.length; i++) {
      expect(seen.ids[i]).toBeGreaterThan(seen.ids[i - 1] as number);
    }
  });
}

describe("memory broker", () => {
  brokerContract(async (limits) => createMemoryBroker(limits));
});

for (const kind of ["redis-sharded", "redis-streams"] as const) {
  describeRedis(`${kind} broker`, (redis) => {
    brokerContract((limits) =>
      createRedisBroker({ kind, url: redis.url, limits, keyPrefix: `test:${randomUUID()}:` }),
    );
    sharedBrokerContract(
      (keyPrefix, log) =>
        createRedisBroker({ kind, url: redis.url, limits: ROOMY, keyPrefix, log }),
      redis,
    );
  });
}

describeService(natsService, "nats broker", (nats) => {
  brokerContract((limits) =>
    createNatsBroker({ url: nats.url, limits, keyPrefix: `test-${randomUUID()}` }),
  );
  sharedBrokerContract(
    (keyPrefix, log) => createNatsBroker({ url: nats.url, limits: ROOMY, keyPrefix, log }),
    nats,
    false,
  );
});

describeRedis("redis broker", (redis) => {
  // A fresh key prefix per broker keeps tests apart on the one redis-server of this file.
  brokerContract((limits) =>
    createRedisBroker({ url: redis.url, limits, keyPrefix: `test:${randomUUID()}:` }),
  );
  sharedBrokerContract(
    (keyPrefix, log) => createRedisBroker({ url: redis.url, limits: ROOMY, keyPrefix, log }),
    redis,
  );

  describe("across instances", () => {
    const open: { close(): Promise<unknown> }[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((closable) => closable.close()));
    });
    const instances = async (
      count: number,
      log?: (line: string) => void,
      commandTimeoutMs?: number,
    ) => {
      const keyPrefix = `test:${randomUUID()}:`;
      const brokers: Broker[] = [];
      for (let i = 0; i < count; i++) {
        const broker = await createRedisBroker({
          url: redis.url,
          limits: ROOMY,
          keyPrefix,
          log,
          commandTimeoutMs,
        });
        open.push(broker);
        brokers.push(broker);
      }
      return { brokers, keyPrefix };
    };
    const inspector = () => {
      const client = new Redis(redis.url);
      open.push({ close: () => client.quit() });
      return client;
    };

    it("joins a channel without waiting for the history reads queued before it", async () => {
      // Long reads again, so the read slots (4) and the read connection are busy.
      const { brokers } = await instances(2, undefined, 30_000);
      const [a, b] = brokers as [Broker, Broker];
      const pad = "x".repeat(64 * 1024);
      for (let n = 0; n < 100; n += 20) {
        await Promise.all(range(1, 20).map(() => b.publish("big", { pad })));
      }
      let readsDone = 0;
      const slowReads = range(1, 8).map(() =>
        a.read("big", 0, 1000).then(() => {
          readsDone++;
        }),
      );
      const seen = collector();
      await a.subscribe("fresh", seen.listener);
      // Reads 5-8 are sent only as 1-4 are answered, and Redis answers a connection
      // in order: a baseline read among them would have come back after all 8.
      const readsDoneAtJoin = readsDone;
      const published = await b.publish("fresh", "first");
      await waitFor(() => seen.ids.length >= 1, "the first message");
      await Promise.all(slowReads);
      expect(readsDoneAtJoin).toBeLessThan(8);
      expect(seen.ids).toEqual([published.id]);
    });

    it("delivers what was published after its SUBSCRIBE while history reads kept the read slots busy", async () => {
      // The slow reads are the point here, not Redis's speed: on a loaded machine
      // they can take longer than the default 2 s command timeout.
      const { brokers, keyPrefix } = await instances(2, undefined, 30_000);
      const [a, b] = brokers as [Broker, Broker];
      // A history big enough that reads of all of it keep a's read slots busy for a while.
      const pad = "x".repeat(64 * 1024);
      for (let n = 0; n < 100; n += 20) {
        await Promise.all(range(1, 20).map(() => b.publish("big", { pad })));
      }
      const slowReads = range(1, 8).map(() => a.read("big", 0, 1000));
      const seen = collector();
      const subscribed = a.subscribe("live", seen.listener);
      // As soon as Redis has a's SUBSCRIBE, publish: a's baseline read is still queued.
      const client = inspector();
      let listening = 0;
      while (listening === 0) {
        const reply = (await client.call("PUBSUB", "NUMSUB", `${keyPrefix}messages:live`)) as [
          string,
          number,
        ];
        listening = Number(reply[1]);
      }
      const published = await b.publish("live", "after the subscribe");
      await Promise.all([subscribed, ...slowReads]);
      await waitFor(() => seen.ids.length >= 1, "the message published after the subscribe");
      expect(seen.ids).toEqual([published.id]);
    });

    it("sends the presence touches of one moment together, and others see them once they resolve", async () => {
      const { brokers } = await instances(2);
      const [a, b] = brokers as [Broker, Broker];
      const client = inspector();
      const scriptCalls = async () => {
        const stats = (await client.call("INFO", "commandstats")) as string;
        return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      };
      // The first touch loads the script into Redis; count from after it.
      await a.touchPresence("warm", "up", 30_000);
      const before = await scriptCalls();
      const channels = ["north", "south", "east"];
      const users = range(1, 100).map((n) => `user-${n}`);
      await Promise.all(
        channels.flatMap((channel) => users.map((user) => a.touchPresence(channel, user, 30_000))),
      );
      // 300 touches on 3 channels: one script call per channel, not one per touch.
      expect((await scriptCalls()) - before).toBe(channels.length);
      for (const channel of channels) {
        expect(await b.presence(channel)).toEqual([...users].sort());
      }
    });

    it("lists a touch of its own at once, before the batch would have left", async () => {
      const { brokers } = await instances(1);
      const broker = brokers[0] as Broker;
      const touched = broker.touchPresence("lobby", "dana", 30_000);
      expect(await broker.presence("lobby")).toEqual(["dana"]);
      await touched;
    });

    it("subscribes in Redis only while a channel has local listeners", async () => {
      const { brokers, keyPrefix } = await instances(1);
      const broker = brokers[0] as Broker;
      const client = inspector();
      const pubsubChannel = `${keyPrefix}messages:quiet`;
      const subscribers = async () => {
        const reply = (await client.call("PUBSUB", "NUMSUB", pubsubChannel)) as [string, number];
        return Number(reply[1]);
      };

      await broker.publish("quiet", "nobody listens");
      expect(await subscribers()).toBe(0);
      const stopFirst = await broker.subscribe("quiet", () => {});
      const stopSecond = await broker.subscribe("quiet", () => {});
      expect(await subscribers()).toBe(1);
      expect(await client.call("PUBSUB", "CHANNELS", `${keyPrefix}*`)).toEqual([pubsubChannel]);

      stopFirst();
      await sleep(50);
      expect(await subscribers()).toBe(1);
      stopSecond();
      // UNSUBSCRIBE is sent asynchronously by the last unsubscribe(); poll for it, bounded.
      let count = await subscribers();
      for (let attempt = 0; count !== 0 && attempt < 250; attempt++) {
        await sleep(20);
        count = await subscribers();
      }
      expect(count).toBe(0);
    });

    it("delivers what was published while the subscriber connection was down, in order", async () => {
      const lines: string[] = [];
      const { brokers } = await instances(2, (line) => lines.push(line));
      const [listening, publishing] = brokers as [Broker, Broker];
      const seen = collector();
      await listening.subscribe("flaky", seen.listener);
      for (let n = 1; n <= 5; n++) await publishing.publish("flaky", { n });
      await waitFor(() => seen.ids.length === 5, "the first 5 messages");

      // Cut the subscriber's connection (the only pub/sub client) and publish while it reconnects.
      const client = inspector();
      const killed = await client.call("CLIENT", "KILL", "TYPE", "pubsub");
      expect(killed).toBe(1);
      for (let n = 6; n <= 30; n++) await publishing.publish("flaky", { n });
      await waitFor(() => seen.ids.length >= 30, "30 messages after the reconnect");
      for (let n = 31; n <= 40; n++) await publishing.publish("flaky", { n });
      await waitFor(() => seen.ids.length >= 40, "40 messages");

      expect(seen.ids).toEqual(range(1, 40));
      expect(seen.badJson).toBe(0);
      expect(lines.some((line) => /subscriber connection .* lost/.test(line))).toBe(true);
      expect(lines.some((line) => /subscriber connection .* is back/.test(line))).toBe(true);
    });
  });
});

describe("a frozen broker's late publish", () => {
  itService(
    natsService,
    "nats stores a publish once when it was answered 503 while frozen and sent again",
    async () => {
      const nats = await natsService.start();
      let broker: Broker | undefined;
      try {
        broker = await quietNatsBroker(nats.url, 500);
        await broker.publish("frozen", { n: 1 }, "run:frozen:1");
        // SIGSTOP: the publish sits in nats-server's socket, unanswered, until SIGCONT.
        process.kill(nats.pid, "SIGSTOP");
        try {
          await waitFor(() => "T".includes(processState(nats.pid)), "nats-server stopped");
          await expect(broker.publish("frozen", { n: 2 }, "run:frozen:2")).rejects.toThrow(
            /may or may not have been stored/,
          );
        } finally {
          process.kill(nats.pid, "SIGCONT");
        }
        // The publisher retries with the same key, as rtbench's does after a 503.
        const retried = await publishUntilTaken(broker, "frozen", { n: 2 }, "run:frozen:2");
        expect(retried?.id).toBe(2);
        const stored = await broker.read("frozen", 0);
        expect(stored.messages.map((m) => m.body)).toEqual([{ n: 1 }, { n: 2 }]);
        expect(stored.lastId).toBe(2);
      } finally {
        await broker?.close();
        await nats.stop();
      }
    },
    30_000,
  );
});

describe("a publish while the connection to NATS is down", () => {
  itService(
    natsService,
    "nats refuses it at once, saying it was not stored, and takes publishes again once NATS is back",
    async () => {
      const nats = await natsService.start();
      let restarted: RunningService | undefined;
      let broker: Broker | undefined;
      try {
        // Longer than the refusal may take: a publish that waited for it fails the test.
        broker = await quietNatsBroker(nats.url, 12_000);
        const connected = broker;
        await connected.publish("down", { n: 1 });
        await nats.kill();
        await waitFor(() => connected.health().state === "unavailable", "the drop noticed");
        // nats.js would drop it at its next reconnect attempt: it is never sent.
        const startedMs = Date.now();
        await expect(connected.publish("down", { n: 2 })).rejects.toThrow(/was not stored/);
        expect(Date.now() - startedMs).toBeLessThan(6_000);
        restarted = await nats.restart();
        const taken = await publishUntilTaken(connected, "down", { n: 3 });
        expect(taken?.id).toBe(2);
        const stored = await connected.read("down", 0);
        expect(stored.messages.map((m) => m.body)).toEqual([{ n: 1 }, { n: 3 }]);
      } finally {
        await broker?.close();
        await (restarted ?? nats).stop();
      }
    },
    30_000,
  );
});

/** A nats broker on its own key prefix, with this command timeout and no log lines. */
function quietNatsBroker(url: string, commandTimeoutMs: number): Promise<Broker> {
  return createNatsBroker({
    url,
    limits: ROOMY,
    keyPrefix: `test-${randomUUID()}`,
    commandTimeoutMs,
    log: () => {},
  });
}

/** Publishes until the broker takes it (its connections may be reconnecting), for up to 15 s. */
async function publishUntilTaken(
  broker: Broker,
  channel: string,
  body: unknown,
  key?: string,
): Promise<Message | undefined> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const message = await broker.publish(channel, body, key).catch(() => undefined);
    if (message) return message;
    await sleep(100);
  }
  return undefined;
}

/** A process's state letter from /proc (T: stopped); "" where /proc is not there. */
function processState(pid: number): string {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? "";
  } catch {
    return "";
  }
}
