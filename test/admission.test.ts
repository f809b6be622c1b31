import { get, type IncomingMessage, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { defaultMaxConnections } from "../reference-server/limits.js";
import { metricValue, SseReader, sleep, WsCollector, wsUrl } from "./server-helpers.js";

const MAX_CONNECTIONS = 6;

/** One request on its own connection, closed after the answer (so it holds no descriptor). */
function once(
  url: string,
  method = "GET",
  body?: string,
): Promise<{ status: number; headers: IncomingMessage["headers"]; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { connection: "close" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The status a WebSocket upgrade is answered with (101 when it opens). */
function upgradeStatus(url: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on("open", () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] });
      res.resume();
      ws.terminate();
    });
    ws.on("error", () => {});
  });
}

describe("admission control", () => {
  let server: RunningServer;
  const held: Array<{ close(): void }> = [];
  beforeAll(async () => {
    server = await startReferenceServer({ maxConnections: MAX_CONNECTIONS });
  });
  afterAll(async () => {
    for (const client of held) client.close();
    await server.close();
  });

  it("refuses subscribers beyond maxConnections with 503 + Retry-After, but serves health, metrics and publishes", async () => {
    for (let i = 0; i < MAX_CONNECTIONS / 2; i++) {
      held.push(await SseReader.open(`${server.url}/api/stream/full`));
      held.push(await WsCollector.open(wsUrl(server.url, "/ws/chat/full")));
    }
    const sse = await once(`${server.url}/api/stream/full`);
    expect(sse.status).toBe(503);
    expect(Number(sse.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(sse.text).error).toMatch(/connection limit \(6 open connections\)/);
    const ws = await upgradeStatus(wsUrl(server.url, "/ws/chat/full"));
    expect(ws.status).toBe(503);
    expect(Number(ws.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await once(`${server.url}/api/messages?channel=full&since=0`)).status).toBe(503);
    expect((await once(`${server.url}/api/messages/poll?channel=full&since=0`)).status).toBe(503);

    expect((await once(`${server.url}/healthz`)).status).toBe(200);
    const metrics = await once(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metricValue(metrics.text, "rtbench_refused_subscribers_total")).toBe(4);
    expect(metricValue(metrics.text, "rtbench_max_connections")).toBe(MAX_CONNECTIONS);
    const published = await once(
      `${server.url}/api/messages`,
      "POST",
      JSON.stringify({ channel: "full", body: "still flowing" }),
    );
    expect(published.status).toBe(201);
    // The subscribers already in keep receiving.
    await (held[0] as SseReader).waitForMessages(1);

    // One leaves: a new one gets in once the refused connections are gone.
    held.shift()?.close();
    await sleep(100);
    const admitted = await new Promise<number>((resolve) => {
      get(`${server.url}/api/stream/full`, { agent: false }, (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      });
    });
    expect(admitted).toBe(200);
  });

  it("defaults to 90 % of the descriptor limit minus a reserve", () => {
    expect(defaultMaxConnections(20_000)).toBe(17_900);
    expect(defaultMaxConnections(1024)).toBe(821);
    expect(defaultMaxConnections(50)).toBe(1);
    expect(defaultMaxConnections(null)).toBe(10_000);
  });
});

describe("heartbeats on a live server", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startReferenceServer({ heartbeatIntervalMs: 1000 });
  });
  afterAll(() => server.close());

  it("reach 100 WebSockets spread over the interval, not in one burst", async () => {
    const arrivals: number[] = [];
    const clients = await Promise.all(
      Array.from({ length: 100 }, () => WsCollector.open(wsUrl(server.url, "/ws/chat/beats"))),
    );
    for (const client of clients) {
      client.ws.on("message", (data) => {
        if (String(data) === '{"type":"ping"}') arrivals.push(performance.now());
      });
    }
    await sleep(2600);
    for (const client of clients) client.close();
    expect(arrivals.length).toBeGreaterThanOrEqual(100);
    // The busiest 50 ms window: one burst held every ping before.
    const sorted = arrivals.sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while ((sorted[i] as number) - (sorted[j] as number) > 50) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    process.stderr.write(
      `heartbeats: ${sorted.length} pings, busiest 50 ms window held ${busiest}\n`,
    );
    // One burst put all 100 clients' pings in one window; spread over 10 ticks, about 10.
    expect(busiest).toBeLessThan(35);
  });
});
