#!/usr/bin/env -S node --expose-gc
// Generator memory per idle client, as a shard holds it: Fleets (the
// subscriber state, sequence tracker, transport client and socket of each
// client) connect clients of one transport to a reference server in another
// process, in two steps (a fifth of `count`, then the rest). The cost of one
// more client is the growth of this process's RSS between the steps divided
// by the clients added: the marginal cost, without the fixed growth of the
// process (young generation, code) that the first clients bring. Run one
// transport per process for RSS figures that do not depend on the order.
//
//   node --expose-gc bench/client-memory.js [count=10000] [protocol=websocket]
//
// RTBENCH_TLS=1: the server serves TLS with a throwaway CA the clients trust
// (the generator's memory per idle TLS client). RTBENCH_DEFLATE=1: WebSocket
// clients and server negotiate permessage-deflate (websocket.deflate: on).
import { Fleet } from "../dist/src/load/fleet/fleet.js";
import { fleetSpec, startBenchServer } from "./fleet-bench.js";

const count = Number(process.argv[2] ?? 10000);
const protocols = (process.argv[3] ?? "websocket").split(",");
const deflate = process.env.RTBENCH_DEFLATE === "1";
const SETTINGS = {
  websocket: deflate
    ? { deflate: "on", deflateThreshold: 1024, deflateNoContextTakeover: "none" }
    : { deflate: "off" },
  sse: { client: "lean" },
  "long-poll": { timeoutMs: 30_000 },
  "short-poll": { intervalMs: 5_000 },
};

const tls = process.env.RTBENCH_TLS === "1";
const server = await startBenchServer({
  tls,
  args: deflate ? ["--ws-deflate-threshold", "1024"] : [],
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function spec(protocol, from, to) {
  return fleetSpec({
    protocol,
    baseUrl: server.baseUrl,
    count: to - from,
    channelOf: (i) => `mem-${(from + i) % 100}`,
    firstUser: from,
    // 4 connections per ms: fast, without a burst the server's accept queue would drop.
    rampUpMs: (to - from) / 4,
    settings: SETTINGS[protocol],
    tls: server.clientTls,
    watchdogIntervals: 3,
  });
}

async function settle() {
  await sleep(1000);
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await sleep(200);
  }
  return process.memoryUsage();
}

async function connect(protocol, from, to) {
  const fleet = new Fleet(spec(protocol, from, to));
  await fleet.rampUp(new AbortController().signal);
  const deadline = Date.now() + 120_000;
  while (fleet.open < to - from && Date.now() < deadline) await sleep(100);
  return fleet;
}

const kb = (bytes) => +(bytes / 1024).toFixed(2);
const rows = [];
for (const protocol of protocols) {
  const first = Math.floor(count / 5);
  const base = await settle();
  const fleetA = await connect(protocol, 0, first);
  const mid = await settle();
  const fleetB = await connect(protocol, first, count);
  const end = await settle();
  const added = count - first;
  rows.push({
    client: `${protocol}${tls ? " (TLS)" : ""}${deflate ? " (deflate)" : ""}`,
    connections: fleetA.open + fleetB.open,
    rssKBPerClient: kb((end.rss - mid.rss) / added),
    heapKBPerClient: kb((end.heapUsed - mid.heapUsed) / added),
    heapTotalKBPerClient: kb((end.heapTotal - mid.heapTotal) / added),
    firstStepRssKBPerClient: kb((mid.rss - base.rss) / first),
  });
  fleetA.close();
  fleetB.close();
  await sleep(2000);
}
console.table(rows);
process.stdout.write(`${JSON.stringify(rows)}\n`);
server.stop();
