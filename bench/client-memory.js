#!/usr/bin/env -S node --expose-gc
// Generator memory per idle client, as a shard holds it: a Fleet (the
// subscriber state, sequence tracker, transport client and socket of each
// client) connects N clients of one transport to a reference server in
// another process; the growth of this process's RSS and heap, divided by N,
// is the cost of one more client.
//
//   node --expose-gc bench/client-memory.js [count=5000] [protocols=websocket,sse,long-poll]
import { spawn } from "node:child_process";
import { Fleet } from "../dist/src/load/fleet.js";
import { monoMs } from "../dist/src/util/clock.js";
import { freePort } from "../dist/src/util/net.js";

const count = Number(process.argv[2] ?? 5000);
const protocols = (process.argv[3] ?? "websocket,sse,long-poll").split(",");
const SETTINGS = {
  websocket: {},
  sse: { client: "lean" },
  "long-poll": { timeoutMs: 30_000 },
  "short-poll": { intervalMs: 5_000 },
};

const port = await freePort();
const server = spawn(process.execPath, ["dist/reference-server/main.js", "--port", String(port)], {
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise((resolve) => server.stdout.once("data", resolve));
const baseUrl = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function spec(protocol) {
  const now = monoMs();
  return {
    type: "start",
    protocol,
    clients: Array.from({ length: count }, (_, index) => ({
      index,
      baseUrl,
      channel: `mem-${index % 100}`,
      user: `u${index}`,
    })),
    totalClients: count,
    rampStartMs: now,
    // 4 connections per ms: fast, without a burst the server's accept queue would drop.
    rampUpMs: count / 4,
    measureStartMs: now,
    measureEndMs: Number.POSITIVE_INFINITY,
    settings: SETTINGS[protocol],
    urls: [baseUrl],
    reconnect: {
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      multiplier: 2,
      jitter: "full",
      maxRetries: 20,
      resume: true,
      watchdogIntervals: 3,
      honorServerRetry: true,
    },
    heartbeatIntervalMs: 30_000,
    seed: 1,
  };
}

const rows = [];
for (const protocol of protocols) {
  global.gc?.();
  await sleep(200);
  global.gc?.();
  const before = process.memoryUsage();
  const fleet = new Fleet(spec(protocol));
  await fleet.rampUp(new AbortController().signal);
  const deadline = Date.now() + 60_000;
  while (fleet.open < count && Date.now() < deadline) await sleep(100);
  await sleep(1000);
  global.gc?.();
  await sleep(200);
  global.gc?.();
  const after = process.memoryUsage();
  rows.push({
    client: protocol,
    connections: fleet.open,
    rssKBPerClient: +((after.rss - before.rss) / count / 1024).toFixed(2),
    heapKBPerClient: +((after.heapUsed - before.heapUsed) / count / 1024).toFixed(2),
    heapTotalKBPerClient: +((after.heapTotal - before.heapTotal) / count / 1024).toFixed(2),
    externalKBPerClient: +((after.external - before.external) / count / 1024).toFixed(2),
  });
  fleet.close();
  await sleep(2000);
}
console.table(rows);
process.stdout.write(`${JSON.stringify(rows)}\n`);
server.kill("SIGTERM");
