#!/usr/bin/env node
// autocannon as the polling anchor: `connections` keep-alive connections
// issuing GETs for `seconds`, in this one process; prints
// {requests, cpuMs, wallMs} as JSON, CPU from this process's own counters.
//
// Without a rate, every connection sends back to back and the whole run is
// measured. With `connectionRate` (requests per second per connection,
// autocannon's own option), the first `warmupSeconds` (connecting thousands
// of sockets) are left out: requests are counted from autocannon's
// per-second ticks after them, and CPU over the same ticks, as
// poll-load.js measures after its clients are connected.
//
//   node bench/anchors/autocannon-load.js <url> [connections=100] [seconds=8] [connectionRate] [warmupSeconds=2]
import autocannon from "autocannon";

const [url, connectionsArg = "100", secondsArg = "8", rateArg, warmupArg = "2"] =
  process.argv.slice(2);
const paced = rateArg !== undefined;
const warmupTicks = paced ? Number(warmupArg) : 0;
const startCpu = process.cpuUsage();
const startWall = performance.now();
let ticks = 0;
let tickRequests = 0;
let tickCpu = null;
let tickWall = 0;
let tickStartWall = 0;
const instance = autocannon({
  url,
  connections: Number(connectionsArg),
  duration: Number(secondsArg) + warmupTicks,
  pipelining: 1,
  ...(paced ? { connectionRate: Number(rateArg) } : {}),
});
let measuredFrom = null;
instance.on("tick", ({ counter }) => {
  ticks++;
  if (ticks === warmupTicks) {
    measuredFrom = process.cpuUsage();
    tickStartWall = performance.now();
  } else if (ticks > warmupTicks && measuredFrom !== null) {
    tickRequests += counter;
    tickCpu = process.cpuUsage(measuredFrom);
    tickWall = performance.now() - tickStartWall;
  }
});
const result = await instance;
const cpu = paced ? tickCpu : process.cpuUsage(startCpu);
process.stdout.write(
  `${JSON.stringify({
    requests: paced ? tickRequests : result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: paced ? tickWall : performance.now() - startWall,
  })}\n`,
);
