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
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Fleet } from "../dist/src/load/fleet/fleet.js";
import { monoMs } from "../dist/src/util/clock.js";
import { freePort } from "../dist/src/util/net.js";
import { createThrowawayCertificates } from "../dist/src/util/throwaway-ca.js";

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
const certs = tls ? createThrowawayCertificates() : null;
const certDir = mkdtempSync(join(tmpdir(), "rtbench-memory-"));
const tlsArgs = [];
if (certs !== null) {
  writeFileSync(join(certDir, "cert.pem"), certs.certPem, { mode: 0o600 });
  writeFileSync(join(certDir, "key.pem"), certs.keyPem, { mode: 0o600 });
  tlsArgs.push("--tls-cert", join(certDir, "cert.pem"), "--tls-key", join(certDir, "key.pem"));
}
const port = await freePort();
const server = spawn(
  process.execPath,
  [
    "dist/reference-server/main.js",
    "--port",
    String(port),
    ...tlsArgs,
    ...(deflate ? ["--ws-deflate-threshold", "1024"] : []),
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
await new Promise((resolve) => server.stdout.once("data", resolve));
const baseUrl = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function spec(protocol, from, to) {
  const now = monoMs();
  return {
    type: "start",
    protocol,
    clients: Array.from({ length: to - from }, (_, i) => ({
      index: i,
      baseUrl,
      channel: `mem-${(from + i) % 100}`,
      user: `u${from + i}`,
    })),
    totalClients: to - from,
    rampStartMs: now,
    // 4 connections per ms: fast, without a burst the server's accept queue would drop.
    rampUpMs: (to - from) / 4,
    // The window outlasts the run (the fleet keeps a per-second timeline of it).
    measureStartMs: now,
    measureEndMs: now + 10 * 60_000,
    drainEndMs: now + 10 * 60_000 + 1000,
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
    tls: certs === null ? null : { ca: certs.caPem, insecure: false, sessionResumption: true },
  };
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
server.kill("SIGTERM");
rmSync(certDir, { recursive: true, force: true });
