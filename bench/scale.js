// `npm run bench -- scale`: 50,000 WebSocket clients and, separately, 50,000
// SSE clients against 3 reference-server instances over Redis, 100 channels,
// publishing 1 message/s (the scenario's `publish.rate`, over all channels),
// 40 s ramp-up. Fewer, busier shards: 4 of 12,500 clients (each process may
// hold 20,000 descriptors here). RTBENCH_SCALE_RATE publishes faster,
// RTBENCH_SCALE_HEARTBEAT changes the server's heartbeat interval.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const RATE = process.env.RTBENCH_SCALE_RATE ?? "1/s";
// The server's heartbeat interval (default 30s). Heartbeats go to every
// connection at once, so at 50,000 connections each round is a burst.
const HEARTBEAT = process.env.RTBENCH_SCALE_HEARTBEAT;

function scenario(protocol) {
  return `name: scale-${protocol}-50k
description: 50,000 ${protocol} clients, 3 instances over Redis, 100 channels, ${RATE}
protocols: [${protocol}]
server: { instances: 3, broker: redis${HEARTBEAT ? `, heartbeatInterval: ${HEARTBEAT}` : ""} }
clients: { count: 50000, rampUp: 40s, channels: 100, shards: 4 }
publish: { rate: ${RATE} }
duration: 30s
warmup: 5s
drain: 10s
`;
}

export async function runScale(outDir, run) {
  const summary = {};
  for (const protocol of (process.env.RTBENCH_SCALE_PROTOCOLS ?? "websocket,sse").split(",")) {
    const file = join(outDir, `scale-${protocol}.yaml`);
    writeFileSync(file, scenario(protocol));
    const [result] = run(`scale-${protocol}`, [file]);
    const r = result?.protocols?.[protocol];
    summary[protocol] = r
      ? {
          status: result.status,
          reliable: result.reliable,
          clients: r.clients,
          connected: r.connected,
          connectP99Ms: r.connect?.p99,
          latencyP99Ms: r.latency?.p99,
          expected: r.expected,
          delivered: r.delivered,
          lost: r.lost,
          loopDelayP99Ms: r.generator?.eventLoopDelayP99,
        }
      : { failed: true };
  }
  writeFileSync(join(outDir, "scale.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n## scale\n\n${JSON.stringify(summary, null, 2)}\n`);
}
