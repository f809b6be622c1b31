import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { describeRedis } from "./helpers/redis.js";
import { type ServerProcess, startServerProcess } from "./helpers/server-process.js";
import { poll, publish, SseReader, sleep, WsCollector, wsUrl } from "./server-helpers.js";

describe("poll answers", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startReferenceServer({ maxPollBatch: 10, maxPollBytes: 5000 });
  });
  afterAll(() => server.close());

  it("are capped in messages and bytes, and the cursor continues from the last one sent", async () => {
    for (let i = 0; i < 30; i++) await publish(server.url, "capped", { pad: "x".repeat(1000), i });
    const first = await poll(`${server.url}/api/messages?channel=capped&since=0`);
    // About 1,060 bytes each: 4 fit in 5,000 bytes (the first always does).
    expect(first.body.messages.map((m) => m.id)).toEqual([1, 2, 3, 4]);
    expect(first.body.cursor).toBe(4);
    const ids: number[] = [];
    let cursor = 0;
    for (let page = 0; page < 20 && cursor < 30; page++) {
      const answer = await poll(`${server.url}/api/messages/poll?channel=capped&since=${cursor}`);
      expect(answer.body.messages.length).toBeLessThanOrEqual(10);
      ids.push(...answer.body.messages.map((m) => m.id));
      cursor = answer.body.cursor;
    }
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

const MESSAGES = 1000;
/** With the envelope, just under the default 64 KiB body limit. */
const PAD = "x".repeat(65_000);
const WRITE_TIMEOUT_MS = 2000;

/** Raw connections that send a request and then never read a byte. */
function nonReader(url: string, requests: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.pause();
      socket.write(requests);
      resolve(socket);
    });
    socket.on("error", () => {});
    socket.once("error", reject);
  });
}

const pollRequest = "GET /api/messages?channel=big&since=0 HTTP/1.1\r\nhost: x\r\n\r\n";
const sseRequest = "GET /api/stream/big HTTP/1.1\r\nhost: x\r\nlast-event-id: 0\r\n\r\n";
const wsRequest =
  "GET /ws/chat/big?since=0 HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
  "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";

function slowClientSuite(brokerArgs: () => string[]) {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess([
      ...brokerArgs(),
      "--write-timeout-ms",
      String(WRITE_TIMEOUT_MS),
    ]);
    // 1,000 × 64 KB in one channel, published 8 at a time.
    for (let i = 0; i < MESSAGES; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => publish(server.url, "big", { i: i + j, pad: PAD })),
      );
    }
  }, 120_000);
  afterAll(() => server?.stop());

  it("20 clients asking for everything and never reading neither block the server nor grow its memory", async () => {
    const healthy = await WsCollector.open(wsUrl(server.url, "/ws/chat/live"));
    const rssBefore = await server.rssBytes();
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) sockets.push(await nonReader(server.url, pollRequest.repeat(3)));
    // Streams that resume from the start and stop reading too.
    for (let i = 0; i < 3; i++) sockets.push(await nonReader(server.url, sseRequest));
    for (let i = 0; i < 3; i++) sockets.push(await nonReader(server.url, wsRequest));

    // While the server fills the non-readers' socket buffers (about 4 MB each, 27 MB in
    // all) it has real work to do; then they hold nothing but their buffers.
    const sample = { rssPeak: rssBefore };
    const fillMs = await deliveryLatencies(server, healthy, 10, sample);
    const steadyMs = await deliveryLatencies(server, healthy, 20, sample);
    const healthStartedAt = performance.now();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const healthMs = performance.now() - healthStartedAt;

    // The non-readers are cut off by the write timeout; the healthy subscriber stays.
    let open = Number.POSITIVE_INFINITY;
    for (let wait = 0; wait < 40 && open > 3; wait++) {
      await sleep(250);
      open = await server.metric("rtbench_open_connections");
    }
    for (const socket of sockets) socket.destroy();
    healthy.close();

    const [fill, steady] = [fillMs, steadyMs].map((list) => [...list].sort((a, b) => a - b)) as [
      number[],
      number[],
    ];
    process.stderr.write(
      `slow clients: healthy latency while buffers fill p50 ${ms(fill[5])} max ${ms(fill[9])}; ` +
        `afterwards p50 ${ms(steady[10])} max ${ms(steady[19])}; /healthz ${ms(healthMs)}; ` +
        `RSS ${mb(rssBefore)} -> peak ${mb(sample.rssPeak)} MB; open after cut-off ${open}\n`,
    );
    // Before bounding, the same clients blocked the event loop: 12 s (memory) and 24 s (Redis).
    expect(fill[9]).toBeLessThan(1000);
    // Every delivery but the slowest under 100 ms (one hiccup of a shared machine is not the server's).
    expect(steady[18]).toBeLessThan(100);
    expect(steady[19]).toBeLessThan(1000);
    expect(healthMs).toBeLessThan(1000);
    // Before bounding, these clients grew RSS by about 1.3 GB.
    expect(sample.rssPeak - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect(open).toBeLessThanOrEqual(3);
    expect(healthy.messageIds).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  }, 60_000);

  it("a reading client catching up on all of it over SSE and WebSocket gets every id, paced, not cut off", async () => {
    const sse = await SseReader.open(`${server.url}/api/stream/big`, { "last-event-id": "0" });
    const ws = await WsCollector.open(wsUrl(server.url, "/ws/chat/big?since=0"));
    await until(() => sse.messageIds.length >= MESSAGES && ws.messageIds.length >= MESSAGES);
    const all = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    expect(sse.messageIds).toEqual(all);
    expect(ws.messageIds).toEqual(all);
    expect(sse.ended).toBe(false);
    sse.close();
    ws.close();
  }, 60_000);
}

/** Publish → delivery times to `healthy` for `count` messages 50 ms apart; samples RSS too. */
async function deliveryLatencies(
  server: ServerProcess,
  healthy: WsCollector,
  count: number,
  sample: { rssPeak: number },
): Promise<number[]> {
  const latenciesMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const sentAt = performance.now();
    const message = await publish(server.url, "live", { i });
    await healthy.waitForMessages(message.id);
    latenciesMs.push(performance.now() - sentAt);
    sample.rssPeak = Math.max(sample.rssPeak, await server.rssBytes());
    await sleep(50);
  }
  return latenciesMs;
}

async function until(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate() && performance.now() < deadline) await sleep(50);
}

function ms(value: number | undefined): string {
  return `${value?.toFixed(1)} ms`;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

describe("slow clients (memory broker)", () => {
  slowClientSuite(() => []);
});

describeRedis("slow clients (redis broker)", (redis) => {
  slowClientSuite(() => ["--broker", "redis", "--broker-url", redis.url]);
});
