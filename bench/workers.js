// `npm run bench -- workers`: 50,000 WebSocket clients against 3 reference-server
// instances over Redis, once on 10 local workers of 5,000 clients each
// (`rtbench run --workers 10 --local`) and once in one process (its shards), so
// the note can set connected, latency p99 with its clock bound, and the
// coordinator's CPU and control bytes per worker per second beside the one-process figures. Same scenario as `scale`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const RATE = process.env.RTBENCH_WORKERS_RATE ?? "1/s";
const WORKERS = process.env.RTBENCH_WORKERS ?? "10";

const SCENARIO = `name: workers-50k
description: 50,000 WebSocket clients, 3 instances over Redis, 100 channels, ${RATE}
protocols: [websocket]
server: { instances: 3, broker: redis }
clients: { count: 50000, rampUp: 40s, channels: 100 }
publish: { rate: ${RATE} }
duration: 30s
warmup: 5s
drain: 10s
`;

function summarise(result) {
  const r = result?.protocols?.websocket;
  if (!r) return { failed: true };
  const coordinator = (r.saturation?.processes ?? []).find((p) => p.role === "publisher");
  return {
    status: result.status,
    reliable: result.reliable,
    connected: r.connected,
    expected: r.expected,
    delivered: r.delivered,
    lost: r.lost,
    duplicates: r.duplicates,
    latencyP99Ms: r.latency?.p99,
    clockBoundMs: r.clock?.boundMs ?? null,
    clockUnreliable: r.clock?.unreliable ?? null,
    coordinatorCpuShare: coordinator?.cpuShare ?? null,
    controlBytesInPerWorkerPerSec: r.workers?.controlBytesInPerWorkerPerSec ?? null,
    controlBytesOutPerWorkerPerSec: r.workers?.controlBytesOutPerWorkerPerSec ?? null,
    generatorProcesses: r.generator?.processes,
  };
}

export async function runWorkersBench(outDir, run) {
  const file = join(outDir, "workers-50k.yaml");
  writeFileSync(file, SCENARIO);
  const [workers] = run("workers-10x5000", [file, "--workers", WORKERS, "--local"]);
  const [single] = run("workers-one-process", [file]);
  const summary = { workers: summarise(workers), oneProcess: summarise(single) };
  writeFileSync(join(outDir, "workers.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
}
