import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import {
  getJson,
  metricValue,
  publish,
  SseReader,
  sleep,
  until,
  WsCollector,
  wsUrl,
} from "./server-helpers.js";

const HEARTBEAT_INTERVAL_MS = 200;

let server: RunningServer;
let url: string;
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  // Presence TTL defaults to 3 heartbeat intervals.
  server = await startReferenceServer({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS });
  url = server.url;
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function openWs(path: string, autoPong = true): Promise<WsCollector> {
  const ws = await WsCollector.open(wsUrl(url, path), { autoPong });
  clients.push(ws);
  return ws;
}

async function presence(channel: string): Promise<string[]> {
  return ((await getJson(`${url}/api/presence/${channel}`)).json as { users: string[] }).users;
}

describe("heartbeats", () => {
  it("a WebSocket client that answers neither pings nor app pings is dropped", async () => {
    const silent = await openWs("/ws/chat/hb-silent", false);
    const answering = await openWs("/ws/chat/hb-silent");
    // 3 missed intervals, dropped at the 4th tick; 5 s is a generous bound for a busy machine.
    const code = await silent.waitForClose(5000);
    expect(code).toBe(1006);
    expect(silent.frames.filter((f) => f.type === "ping").length).toBeGreaterThanOrEqual(3);
    // The client whose ws library answers protocol pings is still there and still served.
    expect(answering.closeCode).toBeNull();
    await publish(url, "hb-silent", { after: "drop" });
    await answering.waitForMessages(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'rtbench_connections{transport="websocket"}')).toBe(1);
  });

  it("an app-level pong alone keeps a client alive", async () => {
    const ws = await openWs("/ws/chat/hb-app", false);
    let answeredPings = 0;
    ws.on("change", () => {
      const pings = ws.frames.filter((f) => f.type === "ping").length;
      for (; answeredPings < pings && ws.ws.readyState === ws.ws.OPEN; answeredPings++) {
        ws.send({ type: "pong" });
      }
    });
    await sleep(HEARTBEAT_INTERVAL_MS * 8);
    expect(answeredPings).toBeGreaterThanOrEqual(4);
    expect(ws.closeCode).toBeNull();
    await publish(url, "hb-app", { still: "here" });
    await ws.waitForMessages(1);
  });

  it("SSE streams get comment heartbeats", async () => {
    const sse = await SseReader.open(`${url}/api/stream/hb-sse`);
    clients.push(sse);
    await until(sse, () => sse.comments.length >= 2, "two SSE ping comments");
    expect(sse.comments.slice(0, 2)).toEqual(["ping", "ping"]);
  });
});

describe("presence", () => {
  it("shows a user while its connection heartbeats and forgets it after the TTL", async () => {
    const ws = await openWs("/ws/chat/pres-ws?user=carol");
    const sse = await SseReader.open(`${url}/api/stream/pres-ws?user=dave`);
    clients.push(sse);
    // Several TTLs (600 ms) pass: heartbeats keep both present.
    await sleep(HEARTBEAT_INTERVAL_MS * 6);
    expect(await presence("pres-ws")).toEqual(["carol", "dave"]);
    ws.close();
    sse.close();
    await sleep(HEARTBEAT_INTERVAL_MS * 3 + 400);
    expect(await presence("pres-ws")).toEqual([]);
  });

  it("a poll with ?user= marks the user for the TTL only", async () => {
    await fetch(`${url}/api/messages?channel=pres-poll&user=erin`);
    expect(await presence("pres-poll")).toEqual(["erin"]);
    await sleep(HEARTBEAT_INTERVAL_MS * 3 + 300);
    expect(await presence("pres-poll")).toEqual([]);
  });
});
