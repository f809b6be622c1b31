#!/usr/bin/env node
// One generator process of short-poll clients (rtbench's own client), for
// the polls-per-CPU-second anchor: N clients poll a quiet channel every
// intervalMs for `seconds`; prints {requests, emptyPolls, cpuMs, seconds} as JSON.
//
//   node bench/anchors/poll-load.js <baseUrl> [clients=200] [intervalMs=5] [seconds=8]
import { createClient } from "../../dist/src/clients/registry.js";
import { createClientContext } from "../../dist/src/clients/types.js";

const [baseUrl, clientsArg = "200", intervalArg = "5", secondsArg = "8"] = process.argv.slice(2);
const clients = Number(clientsArg);
const intervalMs = Number(intervalArg);
const seconds = Number(secondsArg);
const context = createClientContext();
const handlers = { onReady() {}, onMessage() {}, onGap() {}, onBreak() {} };
const running = [];
for (let i = 0; i < clients; i++) {
  const client = createClient("short-poll", {
    baseUrl,
    channel: `anchor-poll-${i % 10}`,
    user: `u${i}`,
    settings: { intervalMs },
    requestTimeoutMs: 30_000,
    handlers,
    context,
  });
  running.push(client);
  await client.connect();
}
// Warm up the JIT and the connections before measuring.
await new Promise((resolve) => setTimeout(resolve, 1000));
const startRequests = context.counters.requests;
const startEmpty = context.counters.emptyPolls;
const startBytes = context.sockets.totals();
const startCpu = process.cpuUsage();
const startWall = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const cpu = process.cpuUsage(startCpu);
const wallMs = performance.now() - startWall;
const bytes = context.sockets.totals();
const result = {
  requests: context.counters.requests - startRequests,
  emptyPolls: context.counters.emptyPolls - startEmpty,
  bytesIn: bytes.bytesIn - startBytes.bytesIn,
  bytesOut: bytes.bytesOut - startBytes.bytesOut,
  cpuMs: (cpu.user + cpu.system) / 1000,
  wallMs,
};
for (const client of running) client.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
setTimeout(() => process.exit(0), 200);
