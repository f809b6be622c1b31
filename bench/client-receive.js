#!/usr/bin/env node
// Micro-benchmark of the per-message path inside a transport client, before
// the fleet sees the message: a WebSocket frame and an SSE chunk turned into
// one handler call each (envelope parsing, cursor, activity stamp). No
// sockets: the clients' frame and data handlers are called directly, so the
// figure is the client's own cost per message against the reference wire
// format. Needs dist/ (`npx tsc -p tsconfig.json`).
//
//   node bench/client-receive.js [messages=200000] [repeats=7]
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { wsTextFrame } from "../dist/reference-server/wire.js";
import { httpTarget } from "../dist/src/clients/lean-http.js";
import { LeanWebSocket } from "../dist/src/clients/lean-ws.js";
import { createSseClient } from "../dist/src/clients/sse.js";
import { createClientContext, SocketTracker } from "../dist/src/clients/types.js";
import { createWebSocketClient } from "../dist/src/clients/websocket.js";

const messages = Number(process.argv[2] ?? 200_000);
const repeats = Number(process.argv[3] ?? 7);

let received = 0;
const handlers = {
  onReady() {},
  onMessage() {
    received++;
  },
  onGap() {},
  onBreak() {},
  onUnrecognised() {},
};

function options() {
  return {
    baseUrl: "http://127.0.0.1:1",
    channel: "room-1",
    user: "u1",
    settings: { client: "lean" },
    requestTimeoutMs: 1000,
    handlers,
    context: createClientContext(),
  };
}

const body = { k: "room-1:1", seq: 1, sch: 1000.5, snt: 1001.25, pad: "x".repeat(100) };
const frames = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(JSON.stringify({ type: "message", id: i + 1, channel: "room-1", ts: 1, body })),
);
const chunks = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(
    `id: ${i + 1}\nevent: message\ndata: ${JSON.stringify({ id: i + 1, channel: "room-1", ts: 1, body })}\n\n`,
  ),
);

function measure(label, feed) {
  const once = () => {
    received = 0;
    const start = process.cpuUsage();
    feed();
    const used = process.cpuUsage(start);
    if (received !== messages) throw new Error(`${label}: ${received} of ${messages} delivered`);
    return ((used.user + used.system) * 1000) / messages;
  };
  once(); // warm up the JIT
  const samples = Array.from({ length: repeats }, once).sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  process.stdout.write(
    `${label}: ${messages} messages, ${repeats} runs: median ${median.toFixed(0)} ns CPU/message ` +
      `(min ${samples[0].toFixed(0)}, max ${samples.at(-1).toFixed(0)})\n`,
  );
}

// The handlers a socket calls; private in TypeScript, reachable here.
const ws = createWebSocketClient(options());
ws.ready = true;
measure("websocket frame", () => {
  for (let i = 0; i < messages; i++) ws.onMessage(frames[i % frames.length], false);
});

const sse = createSseClient(options());
sse.ready = true;
measure("sse chunk", () => {
  for (let i = 0; i < messages; i++) sse.onData(chunks[i % chunks.length]);
});

// The lean WebSocket client's frame reader on the same frames: a chunk of
// 1,000 server frames parsed in place (lengths, checks, UTF-8 validation of
// text) and handed to a handler, as a socket's 'data' would. It needs an open
// connection, so a local server answers the upgrade first.
const leanFrames = Buffer.concat(frames.map((f) => wsTextFrame(f)));
const leanServer = createServer((socket) => {
  socket.once("data", (head) => {
    const key = /sec-websocket-key: (\S+)/i.exec(head.toString())[1];
    const accept = createHash("sha1")
      .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
  });
});
await new Promise((resolve) => leanServer.listen(0, "127.0.0.1", resolve));
const lean = await new Promise((resolve) => {
  const socket = new LeanWebSocket(
    httpTarget(`http://127.0.0.1:${leanServer.address().port}`),
    "/",
    new SocketTracker(),
    {
      onOpen: () => resolve(socket),
      onMessage() {
        received++;
      },
      onRefused() {},
      onClose() {},
    },
    5000,
  );
});
measure("lean websocket frame", () => {
  for (let i = 0; i < messages; i += 1000) lean.onData(leanFrames);
});
lean.terminate();
leanServer.close();
