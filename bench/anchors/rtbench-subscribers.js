#!/usr/bin/env node
// rtbench's own subscribers, as a shard runs them (Fleet: lean WebSocket
// clients, stamp reading, duplicate/reorder checks, latency histograms),
// under the same IPC protocol as ws-subscribers.js.
//
//   node bench/anchors/rtbench-subscribers.js <baseUrl> <count> <channels> [protocol=websocket]
import { Fleet } from "../../dist/src/load/fleet/fleet.js";
import { monoMs } from "../../dist/src/util/clock.js";

const [baseUrl, countArg, channelsArg, protocol = "websocket"] = process.argv.slice(2);
const count = Number(countArg);
const channels = Number(channelsArg);
const now = monoMs();
const fleet = new Fleet({
  type: "start",
  protocol,
  clients: Array.from({ length: count }, (_, index) => ({
    index,
    baseUrl,
    channel: `anchor-${index % channels}`,
    user: `u${index}`,
  })),
  totalClients: count,
  rampStartMs: now,
  rampUpMs: count / 10,
  // The window outlasts any anchor run (the fleet keeps a per-second timeline of it).
  measureStartMs: now,
  measureEndMs: now + 10 * 60_000,
  drainEndMs: now + 10 * 60_000 + 1000,
  settings: protocol === "sse" ? { client: "lean" } : {},
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
});
await fleet.rampUp(new AbortController().signal);
const waitReady = setInterval(() => {
  if (fleet.open === count) {
    clearInterval(waitReady);
    process.send({ type: "ready", open: fleet.open });
  }
}, 50);
let startCpu;
let startReceived = 0;
process.on("message", (message) => {
  if (message.type === "start") {
    startCpu = process.cpuUsage();
    startReceived = fleet.received;
  } else if (message.type === "stop") {
    const cpu = process.cpuUsage(startCpu);
    process.send({
      type: "result",
      received: fleet.received - startReceived,
      cpuMs: (cpu.user + cpu.system) / 1000,
      unstamped: fleet.counters.unstamped,
    });
    fleet.close();
    setTimeout(() => process.exit(0), 100);
  }
});
