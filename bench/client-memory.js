#!/usr/bin/env node --expose-gc
// Generator memory per connection, per client implementation: opens N
// connections of one kind against a reference server in another process and
// reports the growth of this process's RSS and heap per connection.
//
//   node --expose-gc bench/client-memory.js [count]
import { spawn } from "node:child_process";
import { createClient } from "../dist/src/clients/registry.js";
import { SocketTracker } from "../dist/src/clients/types.js";
import { freePort } from "../dist/src/util/net.js";

const count = Number(process.argv[2] ?? 2000);
const port = await freePort();
const server = spawn(process.execPath, ["dist/reference-server/main.js", "--port", String(port)], {
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise((resolve) => server.stdout.once("data", resolve));
const baseUrl = `http://127.0.0.1:${port}`;

const handlers = { onReady() {}, onMessage() {}, onGap() {}, onBreak() {} };
const variants = [
  ["websocket", "lean"],
  ["sse", "lean"],
  ["sse", "eventsource"],
  ["long-poll", "lean"],
];
const rows = [];
for (const [protocol, sseClient] of variants) {
  global.gc?.();
  const before = process.memoryUsage();
  const context = { sockets: new SocketTracker(), counters: { requests: 0, emptyPolls: 0 } };
  const clients = [];
  for (let i = 0; i < count; i++) {
    const client = createClient(protocol, {
      baseUrl,
      channel: `mem-${i % 10}`,
      user: `u${i}`,
      shortPollIntervalMs: 1000,
      longPollTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      sseClient,
      handlers,
      context,
    });
    clients.push(client);
    await client.connect();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  global.gc?.();
  const after = process.memoryUsage();
  rows.push({
    client: protocol === "sse" ? `sse (${sseClient})` : protocol,
    connections: count,
    rssKBPerConnection: +((after.rss - before.rss) / count / 1024).toFixed(1),
    heapKBPerConnection: +((after.heapUsed - before.heapUsed) / count / 1024).toFixed(1),
  });
  for (const client of clients) client.close();
  await new Promise((resolve) => setTimeout(resolve, 1500));
}
console.table(rows);
server.kill("SIGTERM");
