// `npm run bench -- brokers`: what the backbone adds to one delivery. For each
// broker the same small WebSocket run on one reference-server instance (so
// every message makes exactly one trip through the broker), three times with
// the brokers interleaved (the machine's drift spreads over all), next to:
//
// - the broker's own round trip from Node, measured the same way for each
//   (sequential PING with ioredis, a flush (PING/PONG) with the NATS client),
//   p50 of 1,000;
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
import { brokerInfo } from "../dist/src/shared/brokers.js";
import { cpuSplitOf, machine, median, root } from "./anchors/lib.js";

const KINDS = ["memory", "redis", "redis-sharded", "redis-streams", "nats"];
const PINGS = 1000;
const RUNS = Number(process.env.RTBENCH_BROKER_RUNS ?? 3);
const CLIENTS = Number(process.env.RTBENCH_BROKER_CLIENTS ?? 100);
const RATE = Number(process.env.RTBENCH_BROKER_RATE ?? 50);

function scenarioText(kind) {
  return [
    `name: broker-${kind}`,
    "protocols: [websocket]",
    `server: { instances: 1, broker: ${kind} }`,
    `clients: { count: ${CLIENTS}, rampUp: 2s, channels: 10 }`,
    `publish: { rate: ${RATE}/s, payloadBytes: 256 }`,
    "duration: 10s",
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
    for (let i = 0; i < PINGS; i++) {
      // nc.rtt() rounds to whole milliseconds; a flush is the same PING/PONG.
      const started = performance.now();
      await nc.flush();
      samples.push(performance.now() - started);
    }
    await nc.close();
  }
  return median(samples);
}

export async function runBrokers(outDir) {
  const runs = [];
  for (let run = 1; run <= RUNS; run++) {
    for (const kind of KINDS) runs.push(await runOne(outDir, kind, run));
  }
  const rows = KINDS.map((kind) => {
    const mine = runs.filter((r) => r.kind === kind);
    const med = (key) => {
      const values = mine.map((r) => r[key]).filter((v) => v !== null);
      return values.length > 0 ? median(values) : null;
    };
    return {
      kind,
      runs: mine.length,
      latencyP50: med("latencyP50"),
      latencyP99: med("latencyP99"),
      brokerRoundTripP50: med("brokerRoundTripP50"),
      brokerCpuUsPerDelivery: med("brokerCpuUsPerDelivery"),
      brokerCpuUsPerMessage: med("brokerCpuUsPerMessage"),
      serverCpuSecondsPer1k: med("serverCpuSecondsPer1k"),
      lost: mine.reduce((sum, r) => sum + (r.lost ?? 0), 0),
    };
  });
  const memory = rows.find((r) => r.kind === "memory");
  const fmt = (v, digits = 2) =>
    v === null || v === undefined ? "n/a" : Number(v).toFixed(digits);
  const lines = [
    `# Broker cost: one instance, ${CLIENTS} WebSocket subscribers on 10 channels, ${RATE} messages/s; medians of ${RUNS} runs`,
    "",
    "| broker | latency p50 ms | added over memory ms | broker round trip p50 ms | latency p99 ms | broker CPU µs/delivery | broker CPU µs/message | server CPU s/1k deliveries | lost |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.kind} | ${fmt(r.latencyP50)} | ${r.kind === "memory" ? "-" : fmt(r.latencyP50 - (memory?.latencyP50 ?? 0))} | ${fmt(r.brokerRoundTripP50, 3)} | ${fmt(r.latencyP99)} | ${fmt(r.brokerCpuUsPerDelivery, 1)} | ${fmt(r.brokerCpuUsPerMessage, 0)} | ${fmt(r.serverCpuSecondsPer1k, 3)} | ${r.lost} |`,
    ),
    "",
  ];
  writeFileSync(
    join(outDir, "brokers.json"),
    JSON.stringify({ machine: machine(), runs, rows }, null, 2),
  );
  writeFileSync(join(outDir, "brokers.md"), lines.join("\n"));
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** One run of one broker, with the broker's own round trip and CPU around it. */
async function runOne(outDir, kind, run) {
  const out = join(outDir, `broker-${kind}-${run}`);
  mkdirSync(out, { recursive: true });
  const file = join(out, "scenario.yaml");
  writeFileSync(file, scenarioText(kind));
  const serviceName = brokerInfo(kind).service;
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
    return {
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
      brokerCpuUsPerMessage:
        brokerCpuMs !== null && ws?.published ? (brokerCpuMs * 1000) / ws.published : null,
      serverCpuSecondsPer1k: ws?.server.cpuSecondsPer1kDeliveries ?? null,
    };
  } finally {
    await service?.stop();
  }
}
