import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisBroker } from "../reference-server/broker/redis.js";
import {
  type Broker,
  type RunningServer,
  startReferenceServer,
} from "../reference-server/index.js";
import type { Message } from "../src/shared/protocol.js";
import { describeRedis } from "./helpers/redis.js";
import { poll, publish, SseReader, WsCollector, wsUrl } from "./server-helpers.js";

/** `{"channel": C, "body": [[...[1]...]]}`: the whole request nests `depth` levels. */
function nestedPublish(channel: string, depth: number): string {
  const body = `${"[".repeat(depth - 1)}1${"]".repeat(depth - 1)}`;
  return `{"channel":${JSON.stringify(channel)},"body":${body}}`;
}

async function post(
  url: string,
  body: string,
  headers?: Record<string, string>,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/api/messages`, { method: "POST", body, headers });
  return { status: res.status, json: await res.json() };
}

/** Every id from 1 to `lastId`, read back by following the poll cursor: nothing skipped, no gap. */
async function expectContiguous(url: string, channel: string, lastId: number): Promise<void> {
  const seen: number[] = [];
  let cursor = 0;
  for (let page = 0; page < 100 && cursor < lastId; page++) {
    const answer = await poll(`${url}/api/messages?channel=${channel}&since=${cursor}`);
    expect(answer.status).toBe(200);
    expect(answer.body.gap).toBeUndefined();
    seen.push(...answer.body.messages.map((m) => m.id));
    cursor = answer.body.cursor;
  }
  expect(seen).toEqual(Array.from({ length: lastId }, (_, i) => i + 1));
}

function validationSuite(start: () => Promise<{ server: RunningServer; broker?: Broker }>) {
  let server: RunningServer;
  let broker: Broker | undefined;
  let url: string;
  beforeAll(async () => {
    ({ server, broker } = await start());
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
    await broker?.close();
  });

  it("a body nested deeper than maxBodyDepth gets 400 and takes no id", async () => {
    const channel = `deep-${Date.now()}`;
    await publish(url, channel, 1);
    await publish(url, channel, 2);
    // About 8 KB nested 4,120 deep overflowed the stack after an id was taken.
    for (const depth of [65, 4113, 4120, 32_000]) {
      const answer = await post(url, nestedPublish(channel, depth));
      expect(answer.status).toBe(400);
      expect((answer.json as { error: string }).error).toMatch(/must nest at most 64 levels/);
    }
    const next = await publish(url, channel, 3);
    expect(next.id).toBe(3);
    await expectContiguous(url, channel, 3);
    // SSE resume from the middle gets exactly the rest.
    const sse = await SseReader.open(`${url}/api/stream/${channel}`, { "last-event-id": "1" });
    await sse.waitForMessages(2);
    expect(sse.messageIds).toEqual([2, 3]);
    sse.close();
  });

  it("a body exactly at the limit is stored and served", async () => {
    const channel = `edge-${Date.now()}`;
    const answer = await post(url, nestedPublish(channel, 64));
    expect(answer.status).toBe(201);
    expect((answer.json as Message).id).toBe(1);
    await expectContiguous(url, channel, 1);
  });

  it("a repeated Idempotency-Key (HTTP header or WebSocket key) is stored once; a bad one gets 400", async () => {
    const channel = `idem-${Date.now()}`;
    const body = JSON.stringify({ channel, body: { n: 1 } });
    const first = await post(url, body, { "idempotency-key": "run:idem:1" });
    const again = await post(url, body, { "idempotency-key": "run:idem:1" });
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    const bad = await post(url, body, { "idempotency-key": "x".repeat(201) });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/Idempotency-Key must be 1 to 200/);

    const publisher = await WsCollector.open(wsUrl(url, `/ws/chat/${channel}`));
    publisher.send({ type: "publish", ref: 1, body: { n: 2 }, key: "run:idem:2" });
    publisher.send({ type: "publish", ref: 2, body: { n: 2 }, key: "run:idem:2" });
    publisher.send({ type: "publish", ref: 3, body: { n: 1 }, key: "run:idem:1" });
    await publisher.waitFor((f) => f.type === "ack" && f.ref === 3, "the third ack");
    const acks = publisher.frames.filter((f) => f.type === "ack").map((f) => [f.ref, f.id]);
    expect(acks).toEqual([
      [1, 2],
      [2, 2],
      [3, 1],
    ]);
    publisher.send({ type: "publish", ref: 4, body: 0, key: 7 });
    expect(await publisher.waitForClose()).toBe(1008);
    await expectContiguous(url, channel, 2);
  });

  it("a WebSocket publish frame nested too deep closes with 1009 and takes no id", async () => {
    const channel = `ws-deep-${Date.now()}`;
    const publisher = await WsCollector.open(wsUrl(url, `/ws/chat/${channel}`));
    publisher.send({ type: "publish", ref: 1, body: "first" });
    await publisher.waitFor((f) => f.type === "ack", "the first ack");
    publisher.ws.send(`{"type":"publish","ref":2,"body":${"[".repeat(5000)}${"]".repeat(5000)}}`);
    expect(await publisher.waitForClose()).toBe(1009);
    const error = publisher.frames.find((f) => f.type === "error");
    expect(error?.error).toMatch(/must nest at most 64 levels/);
    expect((await publish(url, channel, "after")).id).toBe(2);
    await expectContiguous(url, channel, 2);
  });
}

describe("publish validation (memory broker)", () => {
  validationSuite(async () => ({ server: await startReferenceServer() }));
});

describeRedis("publish validation (redis broker)", (redis) => {
  validationSuite(async () => {
    const broker = await createRedisBroker({
      url: redis.url,
      limits: { maxCount: 1000, maxAgeMs: 60_000 },
      keyPrefix: `validation-${process.pid}:`,
    });
    return { server: await startReferenceServer({ broker }), broker };
  });
});
