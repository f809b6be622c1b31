import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startReferenceServer } from "../reference-server/index.js";
import { publish, SseReader, WsCollector, wsUrl } from "./server-helpers.js";

const MAX_BODY_BYTES = 1024;
const HEALTHY = "healthy";

let server: RunningServer;
let url: string;
let healthyWs: WsCollector;
let healthySse: SseReader;

beforeAll(async () => {
  server = await startReferenceServer({ maxBodyBytes: MAX_BODY_BYTES });
  url = server.url;
  healthyWs = await WsCollector.open(wsUrl(url, `/ws/chat/${HEALTHY}`));
  healthySse = await SseReader.open(`${url}/api/stream/${HEALTHY}`);
});

afterAll(async () => {
  healthyWs.close();
  healthySse.close();
  await server.close();
});

// One bad client never disturbs others: after every test the healthy subscribers still get news.
afterEach(async () => {
  const message = await publish(url, HEALTHY, { check: true });
  await healthyWs.waitForMessages(message.id);
  await healthySse.waitForMessages(message.id);
  expect(healthyWs.messageIds.at(-1)).toBe(message.id);
  expect(healthySse.messageIds.at(-1)).toBe(message.id);
});

async function send(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; error: string }> {
  const res = await fetch(`${url}${path}`, init);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const json = (await res.json()) as { error?: unknown };
  expect(typeof json.error).toBe("string");
  return { status: res.status, headers: res.headers, error: json.error as string };
}

const post = (body: string) => send("/api/messages", { method: "POST", body });

describe("publish", () => {
  it("400 on malformed JSON", async () => {
    const answer = await post('{"channel": "a", "body": ');
    expect(answer.status).toBe(400);
    expect(answer.error).toMatch(/must be JSON/);
  });

  it("400 on a missing or invalid channel, or a missing body", async () => {
    expect((await post('{"body": 1}')).status).toBe(400);
    expect((await post('{"channel": 7, "body": 1}')).error).toMatch(/"channel" must be a string/);
    const bad = await post('{"channel": "no spaces allowed", "body": 1}');
    expect(bad.status).toBe(400);
    expect(bad.error).toMatch(/channel must match/);
    const noBody = await post('{"channel": "ok"}');
    expect(noBody.status).toBe(400);
    expect(noBody.error).toMatch(/"body" is required/);
    expect((await post("[1, 2]")).error).toMatch(/JSON object/);
  });

  it("413 when Content-Length is over the limit", async () => {
    const body = JSON.stringify({ channel: "big", body: "x".repeat(MAX_BODY_BYTES * 4) });
    const answer = await post(body);
    expect(answer.status).toBe(413);
    expect(answer.error).toMatch(`at most ${MAX_BODY_BYTES} bytes`);
  });

  it("413 for a chunked body that grows over the limit, without reading it all", async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = request(`${url}/api/messages`, { method: "POST" }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on("error", reject);
        // No Content-Length: chunked. Keep sending a bounded amount past the limit.
        req.write(`{"channel":"big","body":"`);
        for (let i = 0; i < 8; i++) req.write("y".repeat(MAX_BODY_BYTES));
        req.end('"}');
      },
    );
    expect(status).toBe(413);
    expect(JSON.parse(body).error).toMatch(/at most/);
  });

  it("405 with Allow on a wrong method, 404 on an unknown route", async () => {
    const wrong = await send("/api/messages", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    const wrongPoll = await send("/api/messages/poll?channel=a", { method: "POST", body: "{}" });
    expect(wrongPoll.status).toBe(405);
    expect(wrongPoll.headers.get("allow")).toBe("GET");
    const missing = await send("/api/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.error).toMatch(/no route for GET \/api\/nothing-here/);
  });
});

describe("polls and streams", () => {
  it("400 on a bad or missing channel and a bad since", async () => {
    expect((await send("/api/messages")).error).toMatch(/channel is required/);
    expect((await send("/api/messages?channel=a%20b")).status).toBe(400);
    for (const since of ["abc", "-1", "1.5", "1e3", "99999999999999999999"]) {
      const answer = await send(`/api/messages?channel=a&since=${since}`);
      expect(answer.status, since).toBe(400);
      expect(answer.error).toMatch(/since must be a non-negative integer/);
    }
    expect((await send("/api/messages/poll?channel=a&since=x")).status).toBe(400);
  });

  it("400 on a bad long-poll timeout", async () => {
    for (const timeout of ["abc", "121", "-1"]) {
      const answer = await send(`/api/messages/poll?channel=a&since=0&timeout=${timeout}`);
      expect(answer.status, timeout).toBe(400);
      expect(answer.error).toMatch(/timeout must be a number of seconds from 0 to 120/);
    }
  });

  it("400 on a bad SSE cursor or channel, before any stream starts", async () => {
    const badHeader = await send("/api/stream/a", { headers: { "last-event-id": "nope" } });
    expect(badHeader.status).toBe(400);
    expect(badHeader.error).toMatch(/Last-Event-ID/);
    expect((await send("/api/stream/a?lastEventId=-3")).status).toBe(400);
    expect((await send("/api/stream/bad%20channel")).status).toBe(400);
    expect((await send("/api/presence/bad%20channel")).status).toBe(400);
    expect((await send("/api/stream/a?user=%20")).error).toMatch(/user must match/);
  });

  it("a request that is not HTTP gets a 400 and a closed socket", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1", () => socket.write("HELLO?\r\n\r\n"));
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        text += chunk;
      });
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe("WebSocket", () => {
  async function refusedStatus(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(url, path));
      ws.on("open", () => reject(new Error("the upgrade was accepted")));
      ws.on("error", () => {});
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
  }

  it("an invalid channel or cursor in the URL gets HTTP 400 before the upgrade", async () => {
    const badChannel = await refusedStatus("/ws/chat/has%20space");
    expect(badChannel.status).toBe(400);
    expect(JSON.parse(badChannel.body).error).toMatch(/channel must match/);
    expect((await refusedStatus("/ws/chat/ok?since=soon")).status).toBe(400);
    expect((await refusedStatus("/ws/elsewhere")).status).toBe(404);
  });

  it("a plain GET on a WebSocket route is told to upgrade", async () => {
    const answer = await send("/ws/chat/a");
    expect(answer.status).toBe(426);
  });

  async function closedAfter(frame: string | Buffer, binary = false) {
    const ws = await WsCollector.open(wsUrl(url, "/ws/chat/bad-client"));
    ws.ws.send(frame, { binary });
    const code = await ws.waitForClose();
    return { code, frames: ws.frames };
  }

  it("malformed JSON, a non-object, an unknown type or a binary frame: error frame, then 1003", async () => {
    for (const [frame, pattern] of [
      ["{not json", /frames must be JSON/],
      ["42", /JSON objects/],
      ['{"type":"subscribe"}', /unknown frame type "subscribe"/],
    ] as const) {
      const { code, frames } = await closedAfter(frame);
      expect(code, frame).toBe(1003);
      expect(frames.at(-1)?.type).toBe("error");
      expect(frames.at(-1)?.error).toMatch(pattern);
    }
    const binary = await closedAfter(Buffer.from([1, 2, 3]), true);
    expect(binary.code).toBe(1003);
    expect(binary.frames.at(-1)?.error).toMatch(/binary frames/);
  });

  it("a publish without body or with a bad ref closes with 1008", async () => {
    expect((await closedAfter('{"type":"publish","ref":1}')).code).toBe(1008);
    expect((await closedAfter('{"type":"publish","ref":{},"body":1}')).code).toBe(1008);
  });

  it("a frame over maxBodyBytes closes with 1009", async () => {
    const big = JSON.stringify({ type: "publish", body: "z".repeat(MAX_BODY_BYTES * 2) });
    expect((await closedAfter(big)).code).toBe(1009);
  });
});
