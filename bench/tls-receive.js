#!/usr/bin/env node
// The generator's CPU per WebSocket delivery over TLS next to plaintext, in
// the steady state only (connections made first, then a window of
// publishes): where the TLS ratio of `npm run bench -- tls` comes from. A
// Fleet of real clients (a shard's) in this process, the reference server in
// another; CPU is this process's over the window divided by what it received.
// With RTBENCH_PROFILE=DIR, a CPU profile of the window only is written there.
//
//   node bench/tls-receive.js [clients=1000] [seconds=10] [rate=50]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { Fleet } from "../dist/src/load/fleet/fleet.js";
import { monoMs } from "../dist/src/util/clock.js";
import { freePort } from "../dist/src/util/net.js";
import { createThrowawayCertificates } from "../dist/src/util/throwaway-ca.js";

const clients = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 10);
const rate = Number(process.argv[4] ?? 50);
const CHANNELS = 10;
const profileDir = process.env.RTBENCH_PROFILE ?? null;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(tls) {
  const certs = tls ? createThrowawayCertificates() : null;
  const dir = mkdtempSync(join(tmpdir(), "rtbench-tls-receive-"));
  const tlsArgs = [];
  if (certs !== null) {
    writeFileSync(join(dir, "cert.pem"), certs.certPem, { mode: 0o600 });
    writeFileSync(join(dir, "key.pem"), certs.keyPem, { mode: 0o600 });
    tlsArgs.push("--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem"));
  }
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ["dist/reference-server/main.js", "--port", String(port), ...tlsArgs],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve) => server.stdout.once("data", resolve));
  const baseUrl = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const publisher = new Agent({ connect: certs === null ? {} : { ca: certs.caPem } });
  try {
    return await window(tls, certs, baseUrl, publisher);
  } finally {
    await publisher.close();
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

async function window(tls, certs, baseUrl, publisher) {
  const now = monoMs();
  const fleet = new Fleet({
    type: "start",
    protocol: "websocket",
    clients: Array.from({ length: clients }, (_, i) => ({
      index: i,
      baseUrl,
      channel: `c${i % CHANNELS}`,
      user: `u${i}`,
    })),
    totalClients: clients,
    rampStartMs: now,
    rampUpMs: clients / 2,
    measureStartMs: now,
    measureEndMs: now + 10 * 60_000,
    drainEndMs: now + 10 * 60_000 + 1000,
    settings: { deflate: "off" },
    urls: [baseUrl],
    reconnect: {
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      multiplier: 2,
      jitter: "full",
      maxRetries: 20,
      resume: true,
      watchdogIntervals: 0,
      honorServerRetry: true,
    },
    heartbeatIntervalMs: 30_000,
    seed: 1,
    tls: certs === null ? null : { ca: certs.caPem, insecure: false, sessionResumption: true },
  });
  await fleet.rampUp(new AbortController().signal);
  const deadline = Date.now() + 60_000;
  while (fleet.open < clients && Date.now() < deadline) await sleep(100);
  await sleep(1000);

  const session = profileDir ? new Session() : null;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const receivedBefore = fleet.received;
  const cpuBefore = process.cpuUsage();
  // The publisher runs in this process too, but its cost is per message, not per
  // delivery: at 100 clients per channel it is a hundredth of the window's work.
  let seq = 0;
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    const tick = Date.now();
    const channel = `c${seq % CHANNELS}`;
    seq++;
    const sentMs = monoMs();
    await request(`${baseUrl}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        channel,
        body: { k: `${channel}:${seq}`, seq, sch: sentMs, snt: sentMs },
      }),
      dispatcher: publisher,
    }).then((r) => r.body.dump());
    const wait = 1000 / rate - (Date.now() - tick);
    if (wait > 0) await sleep(wait);
  }
  await sleep(500);
  const cpu = process.cpuUsage(cpuBefore);
  const received = fleet.received - receivedBefore;
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(
      join(profileDir, `ws-${tls ? "tls" : "plain"}.cpuprofile`),
      JSON.stringify(profile),
    );
    session.disconnect();
  }
  const open = fleet.open;
  fleet.close();
  return {
    tls,
    open,
    received,
    nsPerDelivery: ((cpu.user + cpu.system) * 1000) / received,
  };
}

const plain = await measure(false);
const tls = await measure(true);
console.table([plain, tls]);
process.stdout.write(
  `${JSON.stringify({ plain, tls, ratio: +(tls.nsPerDelivery / plain.nsPerDelivery).toFixed(2) })}\n`,
);
