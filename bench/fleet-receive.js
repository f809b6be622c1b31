#!/usr/bin/env node
// Micro-benchmark of the per-message path in a shard: Fleet's subscriber
// handler for one received message (stamp read, duplicate and reorder
// checks, latency histograms). No sockets: it calls the handler directly, so
// the figure is the fleet's own cost per message, not the transport's.
// Needs dist/ (`npx tsc -p tsconfig.json`).
//
//   node bench/fleet-receive.js [subscribers=1000] [rounds=300] [repeats=7]
import { Fleet } from "../dist/src/load/fleet/fleet.js";
import { monoMs } from "../dist/src/util/clock.js";
import { fleetSpec } from "./fleet-bench.js";

const subscribers = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 300);
const repeats = Number(process.argv[4] ?? 7);
const channels = 10;

// The shard start message of the other bench scripts (fleet-bench.js), with a
// window that takes every message: measured from time 0, ramped up a second
// ago, and a one-minute timeline whose per-second buckets the messages land in.
function spec(nowMs) {
  return {
    ...fleetSpec({
      protocol: "websocket",
      baseUrl: "http://127.0.0.1:1",
      count: subscribers,
      channelOf: (index) => `c${index % channels}`,
      rampUpMs: 0,
    }),
    rampStartMs: nowMs - 1000,
    measureStartMs: 0,
    measureEndMs: Number.POSITIVE_INFINITY,
    drainEndMs: nowMs + 59_000,
    heartbeatIntervalMs: 1000,
  };
}

function once() {
  const t0 = monoMs();
  const fleet = new Fleet(spec(t0));
  // The handlers a transport client calls; private in TypeScript, reachable here.
  const handlers = fleet.subscribers;
  // Ready before the messages were sent, as in a run: every message counts as a delivery.
  for (const h of handlers) h.onReady(1);
  const sentMs = monoMs();
  const bodies = Array.from({ length: rounds }, (_, r) => ({
    k: `c:${r + 1}`,
    seq: r + 1,
    sch: sentMs,
    snt: sentMs,
  }));
  const ids = bodies.map((_, r) => String(r + 1));
  // CPU time rather than wall time: on a shared machine, time spent descheduled is not ours.
  const start = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const body = bodies[r];
    const id = ids[r];
    for (const h of handlers) h.onMessage(id, body);
  }
  const used = process.cpuUsage(start);
  fleet.close();
  if (fleet.received !== rounds * subscribers) throw new Error("not every message was counted");
  return ((used.user + used.system) * 1000) / (rounds * subscribers);
}

once(); // warm up the JIT
const samples = Array.from({ length: repeats }, once).sort((a, b) => a - b);
const median = samples[Math.floor(samples.length / 2)];
process.stdout.write(
  `fleet receive: ${subscribers} subscribers x ${rounds} messages, ${repeats} runs: ` +
    `median ${median.toFixed(0)} ns CPU/message (min ${samples[0].toFixed(0)}, max ${samples.at(-1).toFixed(0)})\n`,
);
