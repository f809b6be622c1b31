// Helpers for the side-by-side benchmarks: processes pinned to a core, CPU
// read from /proc, servers started and stopped, a publisher at a fixed rate,
// and medians with ranges.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../dist/src/util/net.js";

export const root = new URL("../..", import.meta.url).pathname;
const CLOCK_TICKS_PER_SECOND = 100;

/** Two or more cores and taskset: server on core 0, load on core 1. */
export const canPin =
  cpus().length >= 2 && existsSync("/usr/bin/taskset") && process.env.RTBENCH_NO_PIN !== "1";

/** Spawns `command args` pinned to `core` when the machine allows it (core null: not pinned). */
export function spawnPinned(core, command, args, options = {}) {
  return canPin && core !== null
    ? spawn("taskset", ["-c", String(core), command, ...args], options)
    : spawn(command, args, options);
}

/** Total user+system CPU of these processes so far, in ms. */
export function cpuMsOf(pids) {
  const { userMs, systemMs } = cpuSplitOf(pids);
  return userMs + systemMs;
}

/**
 * User and system (kernel) CPU of these processes so far, in ms. The kernel
 * part of a delivery is mostly its socket write on loopback, which every
 * server pays alike; the user part is what the server's own code costs.
 */
export function cpuSplitOf(pids) {
  let userTicks = 0;
  let systemTicks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      userTicks += Number(fields[11]);
      systemTicks += Number(fields[12]);
    } catch {
      // gone: it no longer adds CPU
    }
  }
  const ms = 1000 / CLOCK_TICKS_PER_SECOND;
  return { userMs: userTicks * ms, systemMs: systemTicks * ms };
}

function childPids(pid) {
  try {
    return execFileSync("ps", ["--ppid", String(pid), "-o", "pid="], { encoding: "utf8" })
      .split("\n")
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${text}`)), 15_000);
    child.stdout.on("data", (chunk) => {
      text += chunk;
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${text}`)));
  });
}

/**
 * A server on core 0 (`core` null: not pinned, as `rtbench run` starts its
 * own): {url, pids(), stop(), wsUrl(channel), streamUrl, publish}
 */
export async function startServer(kind, core = 0) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (kind === "nchan") return startNchan(port, url);
  const script =
    kind === "reference" ? "dist/reference-server/main.js" : "bench/anchors/naive-server.js";
  const args = kind === "reference" ? [script, "--port", String(port)] : [script, String(port)];
  const child = spawnPinned(core, process.execPath, args, {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await waitForLine(child, /listening|ready/i, kind);
  return {
    kind,
    url,
    wsTemplate: `ws://127.0.0.1:${port}/ws/chat/{channel}`,
    pids: () => [child.pid],
    publishRequest: (channel, body) => ({
      url: `${url}/api/messages`,
      body: JSON.stringify({ channel, body }),
    }),
    stop: () => stopChild(child),
  };
}

export const nchanInstalled =
  existsSync("/usr/sbin/nginx") && existsSync("/usr/lib/nginx/modules/ngx_nchan_module.so");

async function startNchan(port, url) {
  const dir = mkdtempSync(join(tmpdir(), "rtbench-nchan-"));
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location ~ ^/pub/(.+)$ { nchan_publisher; nchan_channel_id $1; nchan_message_buffer_length 100; }
    location ~ ^/sub/(.+)$ { nchan_subscriber; nchan_channel_id $1; }
  }
}
`,
  );
  const child = spawnPinned(0, "/usr/sbin/nginx", ["-c", conf, "-p", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/pub/probe`, { method: "POST", body: "{}" });
      await res.text();
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nginx+nchan did not start (see ${dir}/error.log)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    kind: "nchan",
    url,
    wsTemplate: `ws://127.0.0.1:${port}/sub/{channel}`,
    pids: () => [child.pid, ...childPids(child.pid)],
    publishRequest: (channel, body) => ({
      url: `${url}/pub/${channel}`,
      body: JSON.stringify(body),
    }),
    stop: () => stopChild(child, "SIGQUIT"),
  };
}

export function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** A worker on core 1 (null: not pinned) speaking the ready/start/stop IPC protocol of the subscriber scripts. */
export async function startWorker(script, args, core = 1) {
  const child = spawnPinned(core, process.execPath, [join(root, script), ...args], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready in 60 s`)), 60_000);
    child.on("message", (m) => {
      if (m.type === "ready") {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    start: () => child.send({ type: "start" }),
    stop: () =>
      new Promise((resolve) => {
        child.on("message", (m) => {
          if (m.type === "result") resolve(m);
        });
        child.send({ type: "stop" });
      }),
    done: () => stopChild(child),
  };
}

/**
 * Publishes stamped bodies (the shape rtbench's publisher sends) round-robin
 * over `channels` at `ratePerSec` for `seconds`; resolves with the count.
 */
export async function publishFor(server, channels, ratePerSec, seconds) {
  const total = Math.round(ratePerSec * seconds);
  const seqs = new Array(channels).fill(0);
  const started = performance.now();
  const inFlight = new Set();
  let failed = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const c = i % channels;
    const channel = `anchor-${c}`;
    const seq = ++seqs[c];
    const now = performance.timeOrigin + performance.now();
    const body = { k: `${channel}:${seq}`, seq, sch: now, snt: now, pad: "x".repeat(40) };
    const request = server.publishRequest(channel, body);
    const p = fetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: request.body,
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status >= 300) failed++;
      })
      .catch(() => failed++)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return { published: total, failed };
}

/** Runs a bench script on `core` (null: not pinned); resolves with the JSON of its last stdout line. */
export function runJson(core, script, args) {
  return new Promise((resolve, reject) => {
    const child = spawnPinned(core, process.execPath, [join(root, script), ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.once("exit", (code) => {
      const line = out.trim().split("\n").at(-1);
      if (code !== 0 || !line) reject(new Error(`${script} exited with ${code}: ${out}`));
      else resolve(JSON.parse(line));
    });
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "1.23 (1.10-1.40)" */
export function spread(values, digits = 2) {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(values).toFixed(digits)} (${sorted[0].toFixed(digits)}-${sorted.at(-1).toFixed(digits)})`;
}

export function machine() {
  const list = cpus();
  return {
    cpuModel: list[0]?.model ?? "unknown",
    cores: list.length,
    node: process.version,
    pinned: canPin,
    loadAverageAtStart: loadavg().map((n) => +n.toFixed(2)),
  };
}
