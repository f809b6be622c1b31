// `npm run bench -- tls`: TLS next to plaintext, in one run (server.tls is a
// variant): RTBENCH_TLS_CLIENTS WebSocket clients and as many SSE clients
// (default 20,000) on two reference-server instances over Redis (one
// instance admits 90 % of its open-file limit: on a machine whose hard limit
// is 20,000, as in this project's containers, one cannot hold 20,000
// clients), 100 channels, each
// client getting 1 message/s. Figures: connect p99 and its TLS handshake,
// latency p99, the generator's CPU per delivery (shards' CPU over the window
// / deliveries) with the TLS/plain ratio, and the generator's memory per
// idle client (bench/client-memory.js, plain and with RTBENCH_TLS=1).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const CLIENTS = Number(process.env.RTBENCH_TLS_CLIENTS ?? 20_000);
const MEMORY_CLIENTS = Number(process.env.RTBENCH_TLS_MEMORY_CLIENTS ?? 5_000);
const CHANNELS = 100;

function scenario() {
  return `name: tls-vs-plain-${CLIENTS}
description: ${CLIENTS} clients per protocol, 1 message/s each, plaintext and TLS side by side
protocols: [websocket, sse]
server: { instances: 2, broker: redis }
clients: { count: ${CLIENTS}, rampUp: 40s, channels: ${CHANNELS} }
publish: { rate: ${CHANNELS}/s }
duration: 30s
warmup: 5s
drain: 10s
variants:
  - name: plain
    server: {}
  - name: tls
    server: { tls: true }
`;
}

/** Shard CPU seconds over the window per 1,000 deliveries (bench/network.js uses it too). */
export function generatorCpuPer1k(p, windowSeconds) {
  const shards = (p.saturation?.processes ?? []).filter((l) => l.role === "shard");
  if (shards.length === 0 || shards.some((l) => l.cpuShare === null) || p.delivered === 0) {
    return null;
  }
  const cpuSeconds = shards.reduce((sum, l) => sum + l.cpuShare, 0) * windowSeconds;
  return +((cpuSeconds / p.delivered) * 1000).toFixed(4);
}

function memoryPerClient(root, protocol, tls) {
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", join(root, "bench", "client-memory.js"), String(MEMORY_CLIENTS), protocol],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, RTBENCH_TLS: tls ? "1" : "" },
      timeout: 10 * 60_000,
    },
  );
  const last = child.stdout.trim().split("\n").pop() ?? "[]";
  try {
    return JSON.parse(last)[0]?.rssKBPerClient ?? null;
  } catch {
    return null;
  }
}

export async function runTls(outDir, run, root) {
  const file = join(outDir, "tls-vs-plain.yaml");
  writeFileSync(file, scenario());
  const [result] = run("tls-vs-plain", [file]);
  const rows = {};
  const windowSeconds = ((result?.setup?.durationMs ?? 0) - (result?.setup?.warmupMs ?? 0)) / 1000;
  for (const protocol of ["websocket", "sse"]) {
    for (const variant of ["plain", "tls"]) {
      const p = result?.protocols?.[`${protocol}@${variant}`];
      rows[`${protocol}/${variant}`] = p
        ? {
            connected: p.connected,
            lost: p.lost,
            connectP99Ms: p.connect?.p99,
            tlsHandshakeP99Ms: p.tlsHandshake?.count ? p.tlsHandshake.p99 : null,
            latencyP99Ms: p.latency?.p99,
            generatorCpuSecondsPer1kDeliveries: generatorCpuPer1k(p, windowSeconds),
            serverCpuSecondsPer1kDeliveries: p.server?.cpuSecondsPer1kDeliveries,
            reliable: p.generator?.reliable,
          }
        : { failed: true };
    }
    const plain = rows[`${protocol}/plain`]?.generatorCpuSecondsPer1kDeliveries;
    const tls = rows[`${protocol}/tls`]?.generatorCpuSecondsPer1kDeliveries;
    rows[`${protocol}/tls`].generatorCpuRatioTlsToPlain =
      plain && tls ? +(tls / plain).toFixed(2) : null;
    rows[`${protocol}/plain`].generatorRssKBPerIdleClient = memoryPerClient(root, protocol, false);
    rows[`${protocol}/tls`].generatorRssKBPerIdleClient = memoryPerClient(root, protocol, true);
  }
  const summary = { clients: CLIENTS, memoryClients: MEMORY_CLIENTS, rows };
  writeFileSync(join(outDir, "tls.json"), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`\n## tls\n\n${JSON.stringify(summary, null, 2)}\n`);
}
