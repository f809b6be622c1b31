#!/usr/bin/env node
// rtbench's own subscribers, as a shard runs them (Fleet: lean WebSocket
// clients, stamp reading, duplicate/reorder checks, latency histograms),
// under the same IPC protocol as ws-subscribers.js.
//
//   node bench/anchors/rtbench-subscribers.js <baseUrl> <count> <channels> [protocol=websocket]
import { Fleet } from "../../dist/src/load/fleet/fleet.js";
import { fleetSpec } from "../fleet-bench.js";

const [baseUrl, countArg, channelsArg, protocol = "websocket"] = process.argv.slice(2);
const count = Number(countArg);
const channels = Number(channelsArg);
const fleet = new Fleet(
  fleetSpec({
    protocol,
    baseUrl,
    count,
    channelOf: (index) => `anchor-${index % channels}`,
    rampUpMs: count / 10,
    settings: protocol === "sse" ? { client: "lean" } : {},
  }),
);
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
