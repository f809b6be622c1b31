#!/usr/bin/env node
// autocannon as the polling anchor: `connections` keep-alive connections
// issuing GETs back to back for `seconds`, in this one process; prints
// {requests, cpuMs, wallMs} as JSON, CPU from this process's own counters.
//
//   node bench/anchors/autocannon-load.js <url> [connections=100] [seconds=8]
import autocannon from "autocannon";

const [url, connectionsArg = "100", secondsArg = "8"] = process.argv.slice(2);
const startCpu = process.cpuUsage();
const startWall = performance.now();
const result = await autocannon({
  url,
  connections: Number(connectionsArg),
  duration: Number(secondsArg),
  pipelining: 1,
});
const cpu = process.cpuUsage(startCpu);
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - startWall,
  })}\n`,
);
