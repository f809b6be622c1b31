#!/usr/bin/env node
// Loop benchmark of the reference server's request hot paths: publishes
// (parse, validate, store, answer) and short-poll answers, against one server
// process (memory broker) on loopback, with keep-alive connections. Reports
// requests/s and the server's own CPU time per request (from /metrics), which
// a machine shared with other work disturbs far less than the rate.
//
//   node bench/hot-path.js [--entry path/to/dist/reference-server/main.js]
//
// --entry lets the same loop measure another build (e.g. the previous commit's)
// so that before/after figures come from one machine and one script.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    entry: { type: "string", default: join(root, "dist", "reference-server", "main.js") },
    concurrency: { type: "string", default: "16" },
    seconds: { type: "string", default: "5" },
  },
});
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);

const server = spawn(process.execPath, [values.entry, "--port", "0"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = await once(server.stdout, "data");
const base = String(line).match(/listening (\S+)/)?.[1];
if (!base) throw new Error(`server did not start: ${line}`);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

function send(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    if (body) {
      req.setHeader("content-type", "application/json");
      req.setHeader("content-length", Buffer.byteLength(body));
    }
    req.end(body);
  });
}

async function serverCpuSeconds() {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(text.match(/^process_cpu_seconds_total (\S+)$/m)?.[1]);
}

/** Runs `make()` requests from `concurrency` loops for `seconds`; returns requests/s. */
async function loop(name, make) {
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const status = await make();
      if (status >= 300) throw new Error(`${name}: HTTP ${status}`);
      done++;
    }
  };
  const started = performance.now();
  const cpuBefore = await serverCpuSeconds();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const perSec = Math.round(done / ((performance.now() - started) / 1000));
  const cpuUs = (((await serverCpuSeconds()) - cpuBefore) * 1e6) / done;
  process.stdout.write(
    `${name.padEnd(36)} ${String(perSec).padStart(7)} /s  ${cpuUs.toFixed(1).padStart(7)} µs server CPU per request  (${done} requests)\n`,
  );
  return perSec;
}

const small = JSON.stringify({
  channel: "bench",
  body: { seq: 1, sentAt: 123456.789, key: "k-1", pad: "x".repeat(180) },
});
const nested = JSON.stringify({
  channel: "bench-nested",
  body: { a: [{ b: [{ c: [1, 2, { d: "x".repeat(100) }] }] }], e: { f: { g: { h: true } } } },
});
const large = JSON.stringify({ channel: "bench-large", body: { pad: "x".repeat(60_000) } });

try {
  await loop("publish 256 B", () => send("POST", "/api/messages", small));
  await loop("publish 256 B, 8 levels nested", () => send("POST", "/api/messages", nested));
  await loop("publish 60 KB", () => send("POST", "/api/messages", large));
  // 100 messages of about 300 B per answer.
  for (let i = 0; i < 200; i++)
    await send("POST", "/api/messages", small.replace("bench", "polled"));
  await loop("short poll, 100 messages per answer", () =>
    send("GET", "/api/messages?channel=polled&since=100"),
  );
} finally {
  agent.destroy();
  server.kill("SIGTERM");
}
