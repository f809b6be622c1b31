#!/usr/bin/env node
// The generator's CPU per WebSocket delivery over TLS next to plaintext, in
// the steady state only (connections made first, then a window of
// publishes): where the TLS ratio of `npm run bench -- tls` comes from. A
// Fleet of real clients (a shard's) in this process, the reference server in
// another; CPU is this process's over the window divided by what it received.
// With RTBENCH_PROFILE=DIR, a CPU profile of the window only is written there.
//
//   node bench/tls-receive.js [clients=1000] [seconds=10] [rate=50]
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { Agent, request } from "undici";
import { Fleet } from "../dist/src/load/fleet/fleet.js";
import { monoMs } from "../dist/src/util/clock.js";
import { fleetSpec, startBenchServer } from "./fleet-bench.js";

const clients = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 10);
const rate = Number(process.argv[4] ?? 50);
const CHANNELS = 10;
const profileDir = process.env.RTBENCH_PROFILE ?? null;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(tls) {
  const server = await startBenchServer({ tls });
  const publisher = new Agent({ connect: server.caPem === null ? {} : { ca: server.caPem } });
  try {
    return await window(tls, server, publisher);
  } finally {
    await publisher.close();
    server.stop();
  }
}

async function window(tls, server, publisher) {
  const { baseUrl } = server;
  const fleet = new Fleet(
    fleetSpec({
      protocol: "websocket",
      baseUrl,
      count: clients,
      channelOf: (i) => `c${i % CHANNELS}`,
      rampUpMs: clients / 2,
      settings: { deflate: "off" },
      tls: server.clientTls,
    }),
  );
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
