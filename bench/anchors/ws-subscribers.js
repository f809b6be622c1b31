#!/usr/bin/env node
// The minimal hand-written `ws` subscriber: N connections, each message
// JSON-parsed and counted. The anchor for rtbench's own receive path, and the
// load for the servers' CPU per delivery. Driven over IPC by anchors/run.js:
// "ready" once connected; "start" and "stop" bound the measured window.
//
//   node bench/anchors/ws-subscribers.js <urlTemplate with {channel}> <count> <channels>
import WebSocket from "ws";

const [template, countArg, channelsArg] = process.argv.slice(2);
const count = Number(countArg);
const channels = Number(channelsArg);
let received = 0;
let open = 0;
const sockets = [];
for (let i = 0; i < count; i++) {
  const ws = new WebSocket(template.replace("{channel}", `anchor-${i % channels}`), {
    perMessageDeflate: false,
  });
  ws.on("open", () => {
    open++;
    if (open === count) process.send({ type: "ready", open });
  });
  ws.on("message", (data) => {
    // The reference server's heartbeat is a frame too ({"type":"ping"}); only messages count.
    if (JSON.parse(data.toString()).type !== "ping") received++;
  });
  ws.on("error", (error) => process.stderr.write(`ws-subscribers: ${error.message}\n`));
  sockets.push(ws);
  if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
}
let startCpu;
let startReceived = 0;
process.on("message", (message) => {
  if (message.type === "start") {
    startCpu = process.cpuUsage();
    startReceived = received;
  } else if (message.type === "stop") {
    const cpu = process.cpuUsage(startCpu);
    process.send({
      type: "result",
      received: received - startReceived,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
    for (const ws of sockets) ws.terminate();
    setTimeout(() => process.exit(0), 100);
  }
});
