// `npm run bench -- brokers`: what the backbone adds to one delivery. For each
// broker the same small WebSocket run on one reference-server instance (so
// every message makes exactly one trip through the broker), next to:
//
// - the broker's own round trip from Node, measured the same way for each
//   (sequential PING with ioredis, nc.rtt() with the NATS client), p50 of 1,000;
// - the broker process's CPU (user + system, /proc) per delivered message.
//
// rtbench is handed the service this script started (REDIS_URL / NATS_URL), so
// the broker's PID is known here. Writes brokers.json and brokers.md.

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { SERVICES } from "../dist/src/services/registry.js";
import { cpuSplitOf, machine, median, root } from "./anchors/lib.js";

const KINDS = ["memory", "redis", "redis-sharded", "redis-streams", "nats"];
const PINGS = 1000;
const CLIENTS = Number(process.env.RTBENCH_BROKER_CLIENTS ?? 200);
const RATE = Number(process.env.RTBENCH_BROKER_RATE ?? 100);

function scenarioText(kind) {
  return [
    `name: broker-${kind}`,
    "protocols: [websocket]",
    `server: { instances: 1, broker: ${kind} }`,
    `clients: { count: ${CLIENTS}, rampUp: 2s, channels: 10 }`,
    `publish: { rate: ${RATE}/s, payloadBytes: 256 }`,
    "duration: 15s",
    "warmup: 2s",
    "drain: 3s",
    "",
  ].join("\n");
}

/** p50 of `count` sequential round trips to the broker, in ms. */
async function brokerRoundTripMs(name, url) {
  const samples = [];
  if (name === "redis") {
    const redis = new Redis(url);
    for (let i = 0; i < PINGS; i++) {
      const started = performance.now();
      await redis.ping();
      samples.push(performance.now() - started);
    }
    await redis.quit();
  } else {
    const nc = await connect({ servers: url });
    for (let i = 0; i < PINGS; i++) samples.push(await nc.rtt());
    await nc.close();
  }
  return median(samples);
}

export async function runBrokers(outDir) {
  const rows = [];
  for (const kind of KINDS) {
    const out = join(outDir, `broker-${kind}`);
    mkdirSync(out, { recursive: true });
    const file = join(out, "scenario.yaml");
    writeFileSync(file, scenarioText(kind));
    const serviceName = kind === "memory" ? null : kind === "nats" ? "nats" : "redis";
    const service = serviceName ? await SERVICES[serviceName].start() : null;
    try {
      const rttMs = service ? await brokerRoundTripMs(serviceName, service.url) : null;
      const env = { ...process.env };
      if (service) env[SERVICES[serviceName].urlEnv] = service.url;
      const before = service ? cpuSplitOf([service.pid]) : null;
      process.stderr.write(`bench: brokers: ${kind}\n`);
      const child = spawnSync(
        process.execPath,
        [join(root, "bin", "rtbench.js"), "run", file, "--out", out, "--quiet"],
        { cwd: root, env, encoding: "utf8", timeout: 10 * 60_000 },
      );
      writeFileSync(join(out, "table.txt"), `${child.stdout}\n${child.stderr}`);
      const after = service ? cpuSplitOf([service.pid]) : null;
      const [name] = readdirSync(out).filter((f) => f.endsWith(".json"));
      const result = name ? JSON.parse(readFileSync(join(out, name), "utf8")) : null;
      const ws = result?.protocols?.websocket;
      const brokerCpuMs =
        before && after ? after.userMs + after.systemMs - before.userMs - before.systemMs : null;
      rows.push({
        kind,
        exit: child.status,
        delivered: ws?.delivered ?? null,
        lost: ws?.lost ?? null,
        latencyP50: ws?.latency.p50 ?? null,
        latencyP99: ws?.latency.p99 ?? null,
        brokerRoundTripP50: rttMs,
        brokerCpuMs,
        // The whole run's broker CPU (ramp-up and drain included) over the window's deliveries.
        brokerCpuUsPerDelivery:
          brokerCpuMs !== null && ws?.delivered ? (brokerCpuMs * 1000) / ws.delivered : null,
        serverCpuSecondsPer1k: ws?.server.cpuSecondsPer1kDeliveries ?? null,
      });
    } finally {
      await service?.stop();
    }
  }
  const memory = rows.find((r) => r.kind === "memory");
  const fmt = (v, digits = 2) =>
    v === null || v === undefined ? "n/a" : Number(v).toFixed(digits);
  const lines = [
    `# Broker cost, one instance, ${CLIENTS} WebSocket subscribers, ${RATE} messages/s`,
    "",
    "| broker | latency p50 ms | added over memory ms | broker round trip p50 ms | latency p99 ms | broker CPU µs/delivery | server CPU s/1k deliveries | delivered | lost |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.kind} | ${fmt(r.latencyP50)} | ${r.kind === "memory" ? "-" : fmt(r.latencyP50 - (memory?.latencyP50 ?? 0))} | ${fmt(r.brokerRoundTripP50, 3)} | ${fmt(r.latencyP99)} | ${fmt(r.brokerCpuUsPerDelivery, 1)} | ${fmt(r.serverCpuSecondsPer1k, 3)} | ${r.delivered ?? "n/a"} | ${r.lost ?? "n/a"} |`,
    ),
    "",
  ];
  writeFileSync(
    join(outDir, "brokers.json"),
    JSON.stringify({ machine: machine(), rows }, null, 2),
  );
  writeFileSync(join(outDir, "brokers.md"), lines.join("\n"));
  process.stdout.write(`${lines.join("\n")}\n`);
}
