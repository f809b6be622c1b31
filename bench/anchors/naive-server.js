#!/usr/bin/env node
// The naive Node broadcast server a user would write in an afternoon, as an
// anchor for the reference server's CPU per delivery: node:http + ws, one
// Set of sockets per channel, JSON.stringify per message, ws.send (a string)
// and res.write per subscriber. Same routes and envelopes as the reference
// server, so the same subscribers and publisher drive both.
//
//   node bench/anchors/naive-server.js <port>
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 0);
const sockets = new Map(); // channel -> Set<ws>
const streams = new Map(); // channel -> Set<res>
const lastIds = new Map();
const members = (map, channel) => {
  let set = map.get(channel);
  if (!set) {
    set = new Set();
    map.set(channel, set);
  }
  return set;
};

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.method === "POST" && url.pathname === "/api/messages") {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      const { channel, body } = JSON.parse(raw);
      const id = (lastIds.get(channel) ?? 0) + 1;
      lastIds.set(channel, id);
      const message = { id, channel, ts: Date.now(), body };
      const frame = JSON.stringify({ type: "message", ...message });
      for (const ws of sockets.get(channel) ?? []) ws.send(frame);
      const event = `id: ${id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`;
      for (const stream of streams.get(channel) ?? []) stream.write(event);
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify(message));
    });
    return;
  }
  if (req.method === "GET" && url.pathname.startsWith("/api/stream/")) {
    const set = members(streams, decodeURIComponent(url.pathname.slice(12)));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("retry: 2000\n\n");
    set.add(res);
    res.on("close", () => set.delete(res));
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://x");
  if (!url.pathname.startsWith("/ws/chat/")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const set = members(sockets, decodeURIComponent(url.pathname.slice(9)));
    set.add(ws);
    ws.on("close", () => set.delete(ws));
  });
});

server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`naive-server listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
